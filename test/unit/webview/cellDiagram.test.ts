import * as assert from 'node:assert/strict';
import { Network } from '../../../src/engine/network';
import { Rng } from '../../../src/engine/rng';
import { traceTokens } from '../../../src/engine/trace';
import { CELL_TYPES, type CellType } from '../../../src/engine/types';
import type { TraceData } from '../../../src/protocol/trace';
import type { EditedStep } from '../../../src/protocol/webview';
import { cellStep, describeStep, editedCellStep, unitHistogram } from '../../../webview/data/cellDiagram';
import { editedMark, editedReadout, seriesNote } from '../../../webview/data/edited';

/** A real engine trace of a small 2-layer model, as it crosses to the webview. */
function traceOf(cell: CellType): TraceData {
  const rng = new Rng(4);
  const net = new Network({ cell, vocabSize: 5, embed: 3, hidden: 6, layers: 2 });
  net.initialize(rng);
  for (let i = 0; i < net.params.length; i++) net.params[i] *= 3;
  const tokens = Int32Array.from({ length: 12 }, () => rng.nextUint32() % 5);
  const t = traceTokens(net, tokens);
  return { cell, vocab: ['a', 'b', '🙂', ' ', '\n'], hidden: 6, tokens: t.tokens, loss: t.loss, predictions: t.predictions, probs: t.probs, layers: t.layers };
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

describe('cell diagram data: the debugger\'s edited state', () => {
  /** The debugger's state at t, as the trace has it (then edited by the test). */
  function stateAt(tr: TraceData, t: number): EditedStep {
    const H = tr.hidden;
    const row = (a: Float32Array | null, tt: number): Float32Array | null => (a ? (tt < 0 ? new Float32Array(H) : a.slice(tt * H, (tt + 1) * H)) : null);
    return {
      layers: tr.layers.map((l) => ({ h: row(l.h, t)!, c: row(l.c, t), hPrev: row(l.h, t - 1)!, cPrev: row(l.c, t - 1),
        gates: Object.fromEntries(Object.entries(l.gates).map(([q, g]) => [q, row(g, t)!])) })),
      top: [], next: null, pChar: null, edits: [],
    };
  }

  for (const cell of CELL_TYPES) {
    it(`${cell}: an unedited state gives the trace's numbers (one unit and the mean, at t = 0 too)`, () => {
      const tr = traceOf(cell);
      for (const [t, unit] of [[7, 4], [7, null], [0, 2]] as const) {
        const want = cellStep(tr, 1, t, unit);
        const got = editedCellStep(cell, stateAt(tr, t), 1, t, unit, want.char);
        assert.deepEqual(Object.keys(got.values), Object.keys(want.values));
        for (const [k, v] of Object.entries(want.values)) if (typeof v === 'number') close((got.values as unknown as Record<string, number>)[k]!, v, `${k} at t = ${t}`);
      }
    });
  }

  it('an edited h shows on the diagram and in the readout; the mark names the intervention', () => {
    const tr = traceOf('lstm');
    const e = stateAt(tr, 5);
    e.layers[1]!.h[3] = -1;
    const edited = { ...e, edits: [{ t: 5, layer: 1, state: 'h' as const, unit: 3, value: -1 }, { t: null, layer: 0, state: 'c' as const, unit: 0, value: 2.5 }] };
    assert.equal(editedCellStep('lstm', edited, 1, 5, 3, 'a').values.h, -1);
    const r = editedReadout('lstm', edited, 1, 3);
    assert.deepEqual(r.map((x) => x.q), ['i', 'f', 'g', 'o', 'c', 'h']);
    assert.equal(r.at(-1)!.value, -1);
    assert.equal(editedMark(edited), 'Edited in the debugger (Set Value: layer(1).h[3] = −1 at t = 5, layer(0).c[0] = 2.5): these are the debugger\'s values, not the trace\'s');
    assert.match(seriesNote(5), /^Step t = 5 is edited in the debugger \(Set Value\): the heatmaps and trajectories show the unedited trace/);
  });
});
