import * as assert from 'node:assert/strict';
import { Network } from '../../../src/engine/network';
import { Rng } from '../../../src/engine/rng';
import { CELL_TYPES, type CellType } from '../../../src/engine/types';
import { Unroll, type StateProbe } from '../../../src/engine/unroll';

/**
 * Finite-difference gradient check in float64: every parameter of every block, and every layer's per-timestep
 * norms ‖∂L/∂h_t‖ and ‖∂L/∂c_t‖, for each cell type with 2 layers. The ReLU RNN's derivative jumps at 0: a
 * central difference is exact on either side of it, and none of these pre-activations is within ε of it (else
 * that parameter's check would fail, not pass by luck). Central differences with ε = 1e-5 have
 * truncation error O(ε²) ≈ 1e-10 and rounding error ≈ 1e-16/ε ≈ 1e-11 relative to the loss, so analytic and
 * numeric gradients agree to ~1e-8; a wrong term in any derivative is off by far more than the 1e-6 allowed.
 */
const EPS = 1e-5;
const TOL = 1e-6;

function setup(cell: CellType): Unroll {
  const rng = new Rng(7);
  const net = new Network({ cell, vocabSize: 6, embed: 3, hidden: 4, layers: 2 }, Float64Array);
  net.initialize(rng);
  // scale up so gates are away from their linear region and every nonlinearity is exercised
  for (let i = 0; i < net.params.length; i++) net.params[i] *= 2.5;
  const u = new Unroll(net, 5, 2);
  for (let i = 0; i < u.inputs.length; i++) u.inputs[i] = rng.nextUint32() % 6;
  for (let i = 0; i < u.targets.length; i++) u.targets[i] = rng.nextUint32() % 6;
  u.targets[3] = -1; // a position without a target contributes nothing
  // a non-zero initial state, as carried from a previous chunk
  for (const l of u.layers) {
    for (let j = 0; j < 2 * 4; j++) {
      l.hs[j] = rng.uniform(-0.8, 0.8);
      if (l.cs) l.cs[j] = rng.uniform(-1.5, 1.5);
    }
  }
  return u;
}

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-4, Math.abs(a) + Math.abs(b));
}

for (const cell of CELL_TYPES) {
  describe(`gradient check (${cell}, 2 layers, float64)`, () => {
    const u = setup(cell);
    const net = u.net;
    u.forward();
    net.zeroGrad();
    u.backward();
    const analytic = Float64Array.from(net.grads);

    if (cell === 'rnn_relu') {
      it('exercises both sides of relu′: silent units (h = 0, relu′ = 0) and active ones, in every layer', () => {
        for (const l of u.layers) {
          const h = l.hs.subarray(u.B * net.cfg.hidden); // h_0..h_{T−1}, after the given initial state
          const silent = h.filter((x) => x === 0).length;
          assert.ok(silent > 0 && silent < h.length, `${silent} of ${h.length} silent`);
        }
      });
    }

    for (const spec of net.layout.tensors) {
      it(`∂L/∂${spec.name} matches central differences`, () => {
        let worst = 0;
        let nonzero = 0;
        for (let k = spec.offset; k < spec.offset + spec.size; k++) {
          const x = net.params[k]!;
          net.params[k] = x + EPS;
          const lp = u.forward();
          net.params[k] = x - EPS;
          const lm = u.forward();
          net.params[k] = x;
          const numeric = (lp - lm) / (2 * EPS);
          if (Math.abs(numeric) > 1e-9) nonzero++;
          worst = Math.max(worst, relErr(numeric, analytic[k]!));
        }
        assert.ok(worst < TOL, `worst relative error ${worst.toExponential(2)} in ${spec.name}`);
        assert.ok(nonzero > 0, `${spec.name} has no gradient at all: the check would be vacuous`);
      });
    }

    const kinds: ('h' | 'c')[] = cell === 'lstm' ? ['h', 'c'] : ['h'];
    for (const which of kinds) {
      it(`per-timestep ‖∂L/∂${which}_t‖ of every layer matches central differences`, () => {
        const { T, B } = u;
        const H = net.cfg.hidden;
        for (let l = 0; l < net.cfg.layers; l++) {
          const expected = which === 'h' ? u.layers[l]!.gradH : u.layers[l]!.gradC!;
          const norms = Float64Array.from(expected);
          for (let t = 0; t < T; t++) {
            let sq = 0;
            for (let index = 0; index < B * H; index++) {
              const at = (delta: number): number => {
                u.probe = { layer: l, t, which, index, delta } satisfies StateProbe;
                return u.forward();
              };
              const d = (at(EPS) - at(-EPS)) / (2 * EPS);
              sq += d * d;
            }
            u.probe = null;
            assert.ok(relErr(Math.sqrt(sq), norms[t]!) < TOL,
              `layer ${l} t=${t}: numeric ${Math.sqrt(sq)} vs analytic ${norms[t]}`);
          }
          assert.ok(norms.some((n) => n > 1e-6), `layer ${l} has all-zero ${which} gradient norms`);
        }
      });
    }
  });
}

/**
 * Batch 1 backpropagates through the recurrence against W_hhᵀ (a matrix–vector product) where larger batches
 * use W_hh itself: the same gradients as a batch of 2 identical lanes (which has twice the count, so the same
 * mean loss, and norms √2 times smaller per lane pair).
 */
for (const cell of CELL_TYPES) {
  it(`batch-1 backward (${cell}) matches a batch of two identical lanes`, () => {
    const rng = new Rng(11);
    const net = new Network({ cell, vocabSize: 6, embed: 3, hidden: 5, layers: 2 }, Float64Array);
    net.initialize(rng);
    for (let i = 0; i < net.params.length; i++) net.params[i] *= 2.5;
    const T = 6;
    const one = new Unroll(net, T, 1), two = new Unroll(net, T, 2);
    for (let t = 0; t < T; t++) {
      const x = rng.nextUint32() % 6, y = t === 2 ? -1 : rng.nextUint32() % 6;
      one.inputs[t] = x; one.targets[t] = y;
      two.inputs.fill(x, 2 * t, 2 * t + 2); two.targets.fill(y, 2 * t, 2 * t + 2);
    }
    one.resetState(); two.resetState();
    assert.ok(Math.abs(one.forward() - two.forward()) < 1e-12);
    net.zeroGrad();
    one.backward();
    const g1 = Float64Array.from(net.grads);
    net.zeroGrad();
    two.backward();
    for (let i = 0; i < g1.length; i++) assert.ok(relErr(g1[i]!, net.grads[i]!) < 1e-9, `grad ${i}: ${g1[i]} vs ${net.grads[i]}`);
    one.layers.forEach((l, li) => {
      for (let t = 0; t < T; t++) {
        assert.ok(relErr(l.gradH[t]!, two.layers[li]!.gradH[t]! * Math.SQRT2) < 1e-9, `gradH layer ${li} t ${t}`);
        if (l.gradC) assert.ok(relErr(l.gradC[t]!, two.layers[li]!.gradC![t]! * Math.SQRT2) < 1e-9, `gradC layer ${li} t ${t}`);
      }
    });
  });
}
