import * as assert from 'node:assert/strict';
import { GatescopeError } from '../../../src/engine/errors';
import { Network } from '../../../src/engine/network';
import {
  gradientReach, horizonOf, predictionGradients, quantile, reachPositions, REACH_THRESHOLD, stepFactors,
  type ForwardRecord,
} from '../../../src/engine/reach';
import { Rng } from '../../../src/engine/rng';
import { forwardRecord, traceRecord, traceTokens } from '../../../src/engine/trace';
import { CELL_TYPES, type CellType } from '../../../src/engine/types';
import { Unroll } from '../../../src/engine/unroll';
import { createKernels } from '../../../src/engine/wasm/wasmKernels';

/**
 * The backward from one prediction (reach.ts) against two independent computations, in float64:
 * - the engine's full backward (Unroll.backward) with the loss masked to the one position: its per-timestep
 *   norms are then exactly ‖∂L_T/∂h_t‖ and ‖∂L_T/∂c_t‖, and its encoder gradient the saliency vectors summed by
 *   token;
 * - central differences of L_T against every unit of h_t and c_t (ε = 1e-5: agreement to ~1e-8, see
 *   gradcheck.test.ts; 1e-6 allowed).
 */
const EPS = 1e-5;
const TOL = 1e-6;
const V = 6, T = 9;

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-12, Math.abs(a) + Math.abs(b));
}

function setup(cell: CellType, layers = 2, hidden = 4): { net: Network; u: Unroll; rec: ForwardRecord } {
  const rng = new Rng(3);
  const net = new Network({ cell, vocabSize: V, embed: 3, hidden, layers }, Float64Array);
  net.initialize(rng);
  for (let i = 0; i < net.params.length; i++) net.params[i] *= 2.5; // gates away from their linear region
  const u = new Unroll(net, T, 1);
  for (let t = 0; t < T; t++) u.inputs[t] = rng.nextUint32() % V;
  u.inputs[2] = u.inputs[5]!; // a token seen twice: its encoder row sums two saliency vectors
  for (let t = 0; t + 1 < T; t++) u.targets[t] = u.inputs[t + 1]!;
  u.resetState();
  u.forward();
  return { net, u, rec: forwardRecord(u) };
}

/** Masks the unroll's loss to the prediction at `at` alone: its mean loss is then L_at. */
function maskTo(u: Unroll, at: number): void {
  u.targets.fill(-1);
  u.targets[at] = u.inputs[at + 1]!;
}

for (const cell of CELL_TYPES) {
  describe(`backward from one prediction (${cell}, 2 layers, float64)`, () => {
    const at = 6;

    if (cell === 'rnn_relu') {
      it('runs over silent units (h = 0, relu′ = 0) and active ones in every layer, before the prediction', () => {
        const { rec } = setup(cell);
        for (const l of rec.layers) {
          const h = l.h.subarray(0, (at + 1) * 4);
          const silent = h.filter((x) => x === 0).length;
          assert.ok(silent > 0 && silent < h.length, `${silent} of ${h.length} silent`);
        }
      });
    }

    it('equals the full backward with the loss masked to that position, zero after it', () => {
      const { net, u, rec } = setup(cell);
      const g = predictionGradients(net, rec, at);
      maskTo(u, at);
      const loss = u.forward();
      assert.ok(relErr(g.loss, loss) < 1e-12, `L_T ${g.loss} vs ${loss}`);
      net.zeroGrad();
      u.backward();
      for (let l = 0; l < 2; l++) {
        const full = u.layers[l]!;
        for (let t = 0; t < T; t++) {
          if (t > at) {
            assert.equal(full.gradH[t], 0, 'nothing after T affects L_T');
            continue;
          }
          assert.ok(relErr(g.layers[l]!.gradH[at - t]!, full.gradH[t]!) < 1e-10, `layer ${l} t ${t} h: ${g.layers[l]!.gradH[at - t]} vs ${full.gradH[t]}`);
          if (cell === 'lstm') assert.ok(relErr(g.layers[l]!.gradC![at - t]!, full.gradC![t]!) < 1e-10, `layer ${l} t ${t} c`);
        }
      }
      // saliency: ∂L_T/∂encoder[v] = Σ over positions t ≤ T reading token v of ∂L_T/∂e_t
      const E = net.cfg.embed;
      const byToken = new Float64Array(V * E);
      predictionGradients(net, rec, at, { sink: (l, k, _dh, _dc, de) => {
        if (l === 0) for (let e = 0; e < E; e++) byToken[rec.tokens[at - k]! * E + e] += de![e]!;
      } });
      for (let i = 0; i < V * E; i++) assert.ok(Math.abs(byToken[i]! - net.g.encoder[i]!) < 1e-12, `encoder gradient ${i}: ${byToken[i]} vs ${net.g.encoder[i]}`);
      assert.ok(g.saliency.every((s) => s > 0), 'every character before T influences the prediction');
    });

    const kinds: ('h' | 'c')[] = cell === 'lstm' ? ['h', 'c'] : ['h'];
    for (const which of kinds) {
      it(`∂L_T/∂${which}_t of every unit, layer and step matches central differences`, () => {
        const { net, u, rec } = setup(cell);
        const H = net.cfg.hidden;
        const analytic = new Map<string, Float64Array>();
        predictionGradients(net, rec, at, { sink: (l, k, dh, dc) => analytic.set(`${l}:${at - k}`, Float64Array.from(which === 'h' ? dh : dc!)) });
        maskTo(u, at);
        let nonzero = 0;
        for (let l = 0; l < 2; l++) {
          for (let t = 0; t <= at; t++) {
            for (let j = 0; j < H; j++) {
              const lossWith = (delta: number): number => {
                u.probe = { layer: l, t, which, index: j, delta };
                return u.forward();
              };
              const numeric = (lossWith(EPS) - lossWith(-EPS)) / (2 * EPS);
              const a = analytic.get(`${l}:${t}`)![j]!;
              if (Math.abs(numeric) > 1e-9) nonzero++;
              assert.ok(Math.abs(numeric - a) < TOL * Math.max(1, Math.abs(a)), `layer ${l} t ${t} unit ${j}: numeric ${numeric} vs ${a}`);
            }
          }
        }
        u.probe = null;
        assert.ok(nonzero > 2 * H * at, `only ${nonzero} non-zero derivatives: the check would be vacuous`);
      });
    }

    it('a backward of K + 1 steps is exact, not truncated', () => {
      const { net, rec } = setup(cell);
      const full = predictionGradients(net, rec, at);
      const short = predictionGradients(net, rec, at, { maxK: 3 });
      assert.equal(short.maxK, 3);
      assert.equal(full.maxK, at);
      for (let l = 0; l < 2; l++) {
        for (let k = 0; k <= 3; k++) {
          assert.equal(short.layers[l]!.gradH[k], full.layers[l]!.gradH[k]);
          if (cell === 'lstm') assert.equal(short.layers[l]!.gradC![k], full.layers[l]!.gradC![k]);
        }
      }
      for (let k = 0; k <= 3; k++) assert.equal(short.saliency[k], full.saliency[k]);
    });

    it('the reach summary equals medians and quantiles of ratios from the full masked backward', () => {
      const { net, u } = setup(cell);
      const rec = forwardRecord(u);
      const K = 3;
      const positions = reachPositions(T, 4, K);
      assert.deepEqual(positions, [3, 4, 6, 7]);
      const r = gradientReach(net, rec, positions, K);
      for (let l = 0; l < 2; l++) {
        for (let k = 0; k <= K; k++) {
          const ratios = positions.map((p) => {
            maskTo(u, p);
            u.forward();
            u.backward({ paramGrads: false });
            return u.layers[l]!.gradH[p - k]! / u.layers[l]!.gradH[p]!;
          }).sort((a, b) => a - b);
          const median = (ratios[1]! + ratios[2]!) / 2;
          const q10 = ratios[0]! + 0.3 * (ratios[1]! - ratios[0]!);
          assert.ok(relErr(r.layers[l]!.gradH.median[k]!, median) < 1e-10, `layer ${l} k ${k} median ${r.layers[l]!.gradH.median[k]} vs ${median}`);
          assert.ok(relErr(r.layers[l]!.gradH.q10[k]!, q10) < 1e-10, `layer ${l} k ${k} q10`);
          assert.ok(r.layers[l]!.gradH.q90[k]! >= r.layers[l]!.gradH.median[k]!);
        }
        assert.equal(r.layers[l]!.gradH.median[0], 1, 'each curve is normalised by its value at k = 0');
        if (cell === 'lstm') assert.equal(r.layers[l]!.gradC!.median[0], 1);
      }
      assert.equal(r.horizon.length, 2);
      assert.equal(r.horizonC === null, cell !== 'lstm');
    });
  });
}

describe('gradient reach: positions, quantiles, horizon, bad input', () => {
  it('spreads positions over [K, T − 2], first and last included, and refuses what cannot be', () => {
    assert.deepEqual(reachPositions(1000, 5, 100), [100, 325, 549, 774, 998]);
    assert.deepEqual(reachPositions(12, 40, 5), [5, 6, 7, 8, 9, 10], 'never more positions than there are');
    assert.deepEqual(reachPositions(12, 1, 5), [10]);
    assert.throws(() => reachPositions(50, 40, 100), /50 characters: reaching 100 steps back needs at least 102/);
    assert.throws(() => reachPositions(500, 0, 10), /--positions must be a whole number ≥ 1/);
    assert.throws(() => reachPositions(500, 4, 0), /--max-k must be a whole number ≥ 1/);
  });

  it('quantiles interpolate as NumPy does, and the horizon is the first k below 1e-3', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.ok(Math.abs(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.1) - 1.9) < 1e-12);
    assert.equal(REACH_THRESHOLD, 1e-3);
    assert.equal(horizonOf([1, 0.1, 0.01, 0.002, 0.0009, 0.5]), 4);
    assert.equal(horizonOf([1, 0.1, 0.01]), null);
  });

  it('refuses a position with nothing to predict, outside the text, or a text too short, with the reason', () => {
    const { net, rec } = setup('lstm');
    const err = (f: () => unknown, re: RegExp): void => assert.throws(f, (e: unknown) => e instanceof GatescopeError && re.test(e.message));
    err(() => predictionGradients(net, rec, T - 1), /position 8 is the last character: nothing follows it to predict/);
    err(() => predictionGradients(net, rec, T + 3), /from 0 to 7 in this 9-character text, not 12/);
    err(() => predictionGradients(net, rec, -1), /not -1/);
    err(() => predictionGradients(net, rec, 2.5), /not 2.5/);
    err(() => gradientReach(net, rec, [2], 5), /position 2 cannot reach 5 steps back/);
    const one: ForwardRecord = { ...rec, tokens: rec.tokens.slice(0, 1) };
    err(() => predictionGradients(net, one, 0), /1 character: a prediction needs at least 2/);
    err(() => stepFactors(net, rec, 2, 4, 3), /layer 2 does not exist: the model has layers 0 to 1/);
  });
});

describe('why it happens: the per-step factor', () => {
  it('LSTM: the mean forget gate per step, and the largest over units of ∏f', () => {
    const { net, rec } = setup('lstm', 1, 5);
    const at = 7, K = 4, H = 5;
    const s = stepFactors(net, rec, 0, at, K);
    const f = rec.layers[0]!.gates['f']!;
    assert.equal(s.kind, 'f');
    assert.equal(s.product[0], 1);
    for (let k = 0; k <= K; k++) {
      let mean = 0;
      for (let j = 0; j < H; j++) mean += f[(at - k) * H + j]! / H;
      assert.ok(Math.abs(s.factor[k]! - mean) < 1e-12);
      if (k === 0) continue;
      const products = Array.from({ length: H }, (_, j) => {
        let p = 1;
        for (let q = 0; q < k; q++) p *= f[(at - q) * H + j]!;
        return p;
      }).sort((a, b) => a - b);
      assert.ok(Math.abs(s.product[k]! - products[H - 1]!) < 1e-12, `k ${k}: ${s.product[k]} vs ${products[H - 1]}`);
    }
  });

  for (const cell of ['rnn_tanh', 'rnn_relu'] as const) {
    it(`RNN (${cell}): σ_max of ∂h_t/∂h_{t−1} per step (the Jacobian by central differences of the cell, σ by brute force)`, () => {
      const { net, rec } = setup(cell, 1, 4);
      const at = 7, K = 5, H = 4, E = 3;
      const s = stepFactors(net, rec, 0, at, K);
      assert.equal(s.kind, 'sigma');
      const p = net.p.layers[0]!, h = rec.layers[0]!.h, enc = net.p.encoder;
      const act = cell === 'rnn_relu' ? (a: number): number => Math.max(0, a) : Math.tanh;
      // one step of the cell from the parameters: h_t = act(W_ih·e(x_t) + b_ih + W_hh·h_{t−1} + b_hh)
      const step = (t: number, hPrev: readonly number[]): number[] => Array.from({ length: H }, (_, r) => {
        let a = p.bih[r]! + p.bhh[r]!;
        for (let e = 0; e < E; e++) a += p.wih[r * E + e]! * enc[rec.tokens[t]! * E + e]!;
        for (let c = 0; c < H; c++) a += p.whh[r * H + c]! * hPrev[c]!;
        return act(a);
      });
      let prod = 1, silent = 0;
      for (let k = 0; k <= K; k++) {
        const t = at - k;
        const hPrev = Array.from(h.subarray((t - 1) * H, t * H));
        const ht = step(t, hPrev);
        ht.forEach((v, j) => assert.ok(Math.abs(v - h[t * H + j]!) < 1e-12, 'the step reproduces the forward'));
        silent += ht.filter((v) => v === 0).length;
        // J[r][c] = ∂h_t[r]/∂h_{t−1}[c], central differences (exact for relu away from its kink, O(ε²) for tanh)
        const J = Array.from({ length: H }, () => new Array<number>(H).fill(0));
        for (let c = 0; c < H; c++) {
          const plus = step(t, hPrev.map((x, i) => (i === c ? x + EPS : x))), minus = step(t, hPrev.map((x, i) => (i === c ? x - EPS : x)));
          for (let r = 0; r < H; r++) J[r]![c] = (plus[r]! - minus[r]!) / (2 * EPS);
        }
        // σ_max = max over unit vectors v of ‖J·v‖, by a long power iteration on JᵀJ
        let v = [1, 0.3, -0.2, 0.7];
        let sigma = 0;
        for (let it = 0; it < 2000; it++) {
          const u = J.map((row) => row.reduce((a, x, c) => a + x * v[c]!, 0));
          sigma = Math.hypot(...u);
          const w = v.map((_, c) => J.reduce((a, row, r) => a + row[c]! * u[r]!, 0));
          const n = Math.hypot(...w);
          if (n === 0) break;
          v = w.map((x) => x / n);
        }
        assert.ok(Math.abs(s.factor[k]! - sigma) <= 1e-6 * sigma + 1e-9, `k ${k}: ${s.factor[k]} vs ${sigma}`);
        assert.ok(Math.abs(s.product[k]! - prod) <= 1e-5 * prod + 1e-9);
        prod *= sigma;
      }
      // relu: the mask matters at these steps (some units silent, not all), or the check would not tell relu′ from 1
      if (cell === 'rnn_relu') assert.ok(silent > 0 && silent < (K + 1) * H, `${silent} of ${(K + 1) * H} silent`);
    });
  }

  it('GRU: the mean update gate z per step', () => {
    const { net, rec } = setup('gru', 1, 4);
    const s = stepFactors(net, rec, 0, 5, 2);
    const z = rec.layers[0]!.gates['z']!;
    assert.equal(s.kind, 'z');
    assert.ok(Math.abs(s.factor[1]! - (z[16]! + z[17]! + z[18]! + z[19]!) / 4) < 1e-12);
  });
});

describe('backward from one prediction: dynamic range', () => {
  it('a vanishing gradient far below float32\'s range keeps its precision (power-of-two rescaling per lane)', () => {
    const rng = new Rng(9);
    const cfg = { cell: 'rnn_tanh' as const, vocabSize: 5, embed: 3, hidden: 8, layers: 2 };
    const n64 = new Network(cfg, Float64Array);
    n64.initialize(rng);
    for (let i = 0; i < n64.params.length; i++) n64.params[i] *= 0.6; // a contractive W_hh: ~0.3 per step
    const n32 = new Network(cfg, Float32Array, createKernels('wasm', Float32Array));
    n32.params.set(n64.params);
    n64.params.set(n32.params); // the same (float32-representable) weights in both
    const n = 400;
    const tokens = new Int32Array(n).map(() => rng.nextUint32() % 5);
    const at = 390;
    const record = (net: Network): ForwardRecord => {
      const u = new Unroll(net, n, 1);
      u.inputs.set(tokens);
      u.resetState();
      u.forward();
      return forwardRecord(u);
    };
    const g64 = predictionGradients(n64, record(n64), at, { maxK: 350 });
    const g32 = predictionGradients(n32, record(n32), at, { maxK: 350 });
    for (let l = 0; l < 2; l++) {
      const far = g64.layers[l]!.gradH[350]!;
      assert.ok(far > 0 && far < 1e-60, `layer ${l}: ${far} should be far below float32's smallest number (1e-45)`);
      for (const k of [0, 50, 150, 250, 350]) {
        const a = g32.layers[l]!.gradH[k]!, b = g64.layers[l]!.gradH[k]!;
        assert.ok(relErr(a, b) < 1e-3, `layer ${l} k ${k}: float32 ${a} vs float64 ${b}`);
      }
    }
    assert.ok(g32.saliency[350]! > 0 && relErr(g32.saliency[350]!, g64.saliency[350]!) < 1e-3);
  });
});

describe('backward from one prediction on a float32 trace (wasm kernels, fused recurrence)', () => {
  it('agrees with the masked full backward of the same float32 model', () => {
    const rng = new Rng(5);
    const net = new Network({ cell: 'lstm', vocabSize: 7, embed: 4, hidden: 12, layers: 2 }, Float32Array, createKernels('wasm', Float32Array));
    net.initialize(rng);
    const n = 300; // long enough for the fused recurrence (gate-major gates in the trace)
    const tokens = new Int32Array(n).map(() => rng.nextUint32() % 7);
    const at = 280;
    const u = new Unroll(net, n, 1);
    u.inputs.set(tokens);
    maskTo(u, at);
    u.resetState();
    u.forward();
    u.backward({ paramGrads: false });
    // a trace keeps the top predictions only (the record decodes the distribution at `at` again) or, asked, all of them
    for (const fullProbs of [false, true]) {
      const trace = traceTokens(net, tokens, { fullProbs });
      assert.equal(trace.probs !== null, fullProbs);
      const g = predictionGradients(net, traceRecord(net, trace), at, { maxK: 40 });
      for (let l = 0; l < 2; l++) {
        for (let k = 0; k <= 40; k += 5) {
          const a = g.layers[l]!.gradH[k]!, b = u.layers[l]!.gradH[at - k]!;
          assert.ok(relErr(a, b) < 1e-4, `fullProbs ${fullProbs} layer ${l} k ${k}: ${a} vs ${b}`);
          assert.ok(relErr(g.layers[l]!.gradC![k]!, u.layers[l]!.gradC![at - k]!) < 1e-4);
        }
      }
    }
  });

  it("a trace's record gives the distribution the forward computed, with or without the full distribution kept", () => {
    const rng = new Rng(6);
    const net = new Network({ cell: 'gru', vocabSize: 7, embed: 4, hidden: 12, layers: 2 }, Float32Array, createKernels('wasm', Float32Array));
    net.initialize(rng);
    const tokens = new Int32Array(50).map(() => rng.nextUint32() % 7);
    const full = traceTokens(net, tokens, { fullProbs: true });
    const rec = traceRecord(net, traceTokens(net, tokens));
    for (const t of [0, 17, 49]) {
      const want = full.probs!.subarray(t * 7, (t + 1) * 7);
      const got = rec.distribution(t);
      assert.equal(got.length, 7);
      for (let v = 0; v < 7; v++) assert.ok(Math.abs(got[v]! - want[v]!) < 1e-6, `t ${t} v ${v}: ${got[v]} vs ${want[v]}`);
      assert.deepEqual([...traceRecord(net, full).distribution(t)], [...want]);
    }
  });
});
