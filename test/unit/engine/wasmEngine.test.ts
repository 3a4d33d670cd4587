import * as assert from 'node:assert/strict';
import { JsKernels } from '../../../src/engine/kernels';
import { Network } from '../../../src/engine/network';
import { Rng } from '../../../src/engine/rng';
import { Stepper } from '../../../src/engine/stepper';
import { traceTokens } from '../../../src/engine/trace';
import { DEFAULT_TRAIN_OPTIONS, Trainer, type TrainOptions } from '../../../src/engine/trainer';
import { CELL_TYPES, type CellType } from '../../../src/engine/types';
import { Vocabulary } from '../../../src/engine/vocab';
import { createKernels, WasmKernels } from '../../../src/engine/wasm/wasmKernels';

/**
 * The whole engine on the WebAssembly kernels equals the engine on the TypeScript ones, both float32: training
 * (losses, gradient norms and parameters step by step), validation, the trace with its gradient norms and
 * parameter gradients, and the stepper.
 *
 * Tolerances. The two differ only in float32 rounding (summation order in the products, exp/σ/tanh within a
 * few ulp): measured ~1e−8 relative on losses and probabilities. Adam divides each gradient by its own running
 * magnitude, so a gradient that is nearly zero has a rounding-sized update difference that does not shrink
 * with it: after 20 steps parameters agree to ~1e−6 (measured), checked to 1e−5 against steps of lr = 2e−3.
 */
const TEXT = 'the cat sat on the mat. the dog sat on the log. 🙂 '.repeat(30);
const vocab = Vocabulary.fromText(TEXT);
const tokens = vocab.encode(TEXT);

function networks(cell: CellType, hidden = 12, seed = 5): [Network, Network] {
  const cfg = { cell, vocabSize: vocab.size, embed: 6, hidden, layers: 2 };
  const make = (k: 'js' | 'wasm'): Network => {
    const net = new Network(cfg, Float32Array, createKernels(k));
    net.initialize(new Rng(seed));
    return net;
  };
  return [make('js'), make('wasm')];
}

function closeTo(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i]! - want[i]!) <= atol + rtol * Math.abs(want[i]!), `${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

describe('the engine on WebAssembly kernels', () => {
  it('is the default for float32 networks here, and float64 networks stay on the reference', () => {
    assert.ok(new Network({ cell: 'lstm', vocabSize: 5, embed: 2, hidden: 3, layers: 1 }).kernels instanceof WasmKernels);
    assert.ok(new Network({ cell: 'lstm', vocabSize: 5, embed: 2, hidden: 3, layers: 1 }, Float64Array).kernels instanceof JsKernels);
  });

  it('keeps its buffers in wasm memory', () => {
    const net = new Network({ cell: 'gru', vocabSize: 5, embed: 2, hidden: 3, layers: 2 }, Float32Array, createKernels('wasm'));
    const heap = (net.kernels as WasmKernels).heap;
    assert.ok(heap.owns(net.params.buffer) && heap.owns(net.grads.buffer) && heap.owns(net.p.layers[1]!.whh.buffer));
    const s = new Stepper(net);
    assert.ok(heap.owns(s.probs.buffer) && heap.owns(s.layers[0]!.act!.buffer));
  });

  for (const cell of CELL_TYPES) {
    describe(cell, () => {
      const options: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, cell, hidden: 12, embed: 6, layers: 2, seq: 10, batch: 4, steps: 20, valFrac: 0.1, seed: 5 };

      it('trains as the TypeScript kernels do: loss and gradient norm every step, parameters after 20', () => {
        const [a, b] = networks(cell);
        const ta = new Trainer(a, tokens, options), tb = new Trainer(b, tokens, options);
        for (let s = 0; s < 20; s++) {
          const ra = ta.trainStep(), rb = tb.trainStep();
          closeTo([rb.loss, rb.gradNorm], [ra.loss, ra.gradNorm], 1e-6, 0, `step ${s + 1} loss, grad norm`);
        }
        closeTo(b.params, a.params, 0, 1e-5, 'parameters');
        closeTo([tb.validate()], [ta.validate()], 1e-6, 0, 'validation loss');
      });

      it('traces as the TypeScript kernels do: probabilities, internals, gradient norms, parameter gradients', () => {
        const [a, b] = networks(cell);
        const text = vocab.encode('the dog 🙂 sat on the mat');
        const ta = traceTokens(a, text, { paramGrads: true, fullProbs: true }), tb = traceTokens(b, text, { paramGrads: true, fullProbs: true });
        closeTo([tb.loss], [ta.loss], 1e-6, 0, 'loss');
        assert.ok(ta.probs !== null && tb.probs !== null, 'fullProbs keeps the whole distribution');
        closeTo(tb.probs, ta.probs, 0, 1e-6, 'probs');
        // what every trace keeps of it (p of the next character is NaN at the last position: no next)
        const T = text.length, pa = ta.predictions, pb = tb.predictions;
        closeTo(pb.pNext.subarray(0, T - 1), pa.pNext.subarray(0, T - 1), 0, 1e-6, 'p of the next character');
        assert.ok(Number.isNaN(pa.pNext[T - 1]) && Number.isNaN(pb.pNext[T - 1]), 'no next character after the last');
        closeTo(pb.topProbs, pa.topProbs, 0, 1e-6, 'top probabilities');
        closeTo(pb.entropy, pa.entropy, 1e-5, 1e-7, 'entropy');
        ta.layers.forEach((la, l) => {
          const lb = tb.layers[l]!;
          closeTo(lb.h, la.h, 0, 1e-6, `layer ${l} h`);
          if (la.c) closeTo(lb.c!, la.c, 0, 1e-6, `layer ${l} c`);
          for (const name of Object.keys(la.gates)) closeTo(lb.gates[name]!, la.gates[name]!, 0, 1e-6, `layer ${l} ${name}`);
          closeTo(lb.gradH, la.gradH, 1e-5, 1e-9, `layer ${l} gradH`);
          if (la.gradC) closeTo(lb.gradC!, la.gradC, 1e-5, 1e-9, `layer ${l} gradC`);
        });
        for (const [name, g] of ta.paramGrads!) closeTo(tb.paramGrads!.get(name)!, g, 1e-4, 1e-7, `∂loss/∂${name}`);
      });

      if (cell === 'lstm') {
        // batch 1 runs each layer's recurrence as fused half-steps (parallel/recurrence.ts): splits at 8 and 16
        // units, a last block of fewer than 4 (37), a width that is not a multiple of 4 in either half (21)
        for (const hidden of [20, 21, 37]) {
          it(`traces as the TypeScript kernels do with ${hidden} units (fused recurrence)`, () => {
            const [a, b] = networks(cell, hidden, 7);
            const text = vocab.encode('the cat sat on the log 🙂 the dog sat on the mat. '.repeat(6)); // ≥ FUSED_MIN_STEPS
            const ta = traceTokens(a, text, { paramGrads: true }), tb = traceTokens(b, text, { paramGrads: true });
            closeTo([tb.loss], [ta.loss], 1e-6, 0, 'loss');
            ta.layers.forEach((la, l) => {
              const lb = tb.layers[l]!;
              closeTo(lb.h, la.h, 0, 1e-6, `layer ${l} h`);
              closeTo(lb.c!, la.c!, 0, 1e-6, `layer ${l} c`);
              for (const name of Object.keys(la.gates)) closeTo(lb.gates[name]!, la.gates[name]!, 0, 1e-6, `layer ${l} ${name}`);
              closeTo(lb.gradH, la.gradH, 1e-5, 1e-9, `layer ${l} gradH`);
              closeTo(lb.gradC!, la.gradC!, 1e-5, 1e-9, `layer ${l} gradC`);
            });
            for (const [name, g] of ta.paramGrads!) closeTo(tb.paramGrads!.get(name)!, g, 1e-4, 1e-7, `∂loss/∂${name}`);
          });
        }
      }

      it('steps one character at a time as the TypeScript kernels do', () => {
        const [a, b] = networks(cell);
        const sa = new Stepper(a), sb = new Stepper(b);
        for (const tok of vocab.encode('the dog 🙂 sat')) {
          sa.step(tok);
          sb.step(tok);
          closeTo(sb.probs, sa.probs, 0, 1e-6, 'probs');
          sa.layers.forEach((l, i) => closeTo(sb.layers[i]!.h, l.h, 0, 1e-6, `layer ${i} h`));
        }
      });
    });
  }
});
