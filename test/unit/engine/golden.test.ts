import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeModelFile } from '../../../src/engine/modelfile';
import { Adam, ADAM_DEFAULTS, clipGradients } from '../../../src/engine/optim';
import type { Network } from '../../../src/engine/network';
import { predictionGradients } from '../../../src/engine/reach';
import { forwardRecord, traceTokens } from '../../../src/engine/trace';
import { CELL_TYPES, GATE_NAMES, isPlainRnn, type FloatArrayConstructor } from '../../../src/engine/types';
import { Unroll } from '../../../src/engine/unroll';
import { createKernels, type KernelsChoice } from '../../../src/engine/wasm/wasmKernels';

/**
 * Golden values from PyTorch 1.13 (test/fixtures/golden/gen_golden.py, computed in float64 from float32
 * weights that nn.LSTM/GRU/RNN (tanh and relu) agree with to 1e-12). Tolerances: |got − want| ≤ atol + rtol·|want|.
 * The ReLU RNN's fixtures keep every pre-activation at least 1e-3 from relu's kink (the script asserts it), so
 * the float32 engines take relu′'s branch as PyTorch does on every unit and the same tolerances apply.
 * - float64 engine: same math in a different summation order, so rounding differences of ~1e-15 grow
 *   through at most 5 steps × 2 layers and 2 Adam steps to < 1e-12: rtol 1e-9, atol 1e-11.
 * Each runs on a pinned kernel set: float64 on the TypeScript reference, float32 on both the TypeScript and the
 * WebAssembly kernels.
 * - float32 engine: weights and activations rounded to 2⁻²⁴ ≈ 6e-8 relative at every store; measured worst
 *   errors are ~1e-6 on activations and ~5e-6 on gradients: rtol 1e-4, atol 2e-5 (still 100× tighter than a
 *   wrong term, which the float64 run and the gradient check pin down exactly).
 */
const FIXTURES = path.join(__dirname, '../../fixtures/golden');
const PRECISIONS: [string, FloatArrayConstructor, KernelsChoice, number, number][] = [
  ['float64', Float64Array, 'js', 1e-9, 1e-11],
  ['float32, TypeScript kernels', Float32Array, 'js', 1e-4, 2e-5],
  ['float32, WebAssembly kernels', Float32Array, 'wasm', 1e-4, 2e-5],
];

type Nested = number | Nested[];
const flat = (x: Nested): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x]);
const json = (name: string): any => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));

function close(got: ArrayLike<number>, want: number[], rtol: number, atol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i]! - want[i]!) - (atol + rtol * Math.abs(want[i]!));
    if (excess > worst) { worst = excess; at = i; }
  }
  assert.ok(at < 0, `${what}[${at}]: got ${got[at]}, want ${want[at]}`);
}

for (const cell of CELL_TYPES) {
  for (const [label, Float, kernels, rtol, atol] of PRECISIONS) {
    describe(`PyTorch golden values (${cell}, ${label})`, () => {
      const g = json(`${cell}.json`);
      const bytes = new Uint8Array(readFileSync(path.join(FIXTURES, `${cell}.safetensors`)));
      const { T, B, H, L, V } = g.config;

      function load(): Unroll {
        const model = decodeModelFile(bytes, Float, createKernels(kernels, Float));
        assert.deepEqual(model.vocab.chars, g.vocab);
        const u = new Unroll(model.net, T, B);
        u.inputs.set(flat(g.inputs));
        u.targets.set(flat(g.targets));
        return u;
      }
      function setInitialState(u: Unroll): void {
        u.layers.forEach((c, l) => {
          c.hs.set(flat(g.h0[l]), 0);
          if (c.cs) c.cs.set(flat(g.c0[l]), 0);
        });
      }

      it('reads the model PyTorch wrote, with its sizes', () => {
        const m = decodeModelFile(bytes, Float, createKernels(kernels, Float));
        assert.deepEqual({ ...m.net.cfg }, { cell, vocabSize: V, embed: g.config.E, hidden: H, layers: L });
        assert.deepEqual(m.warnings, []);
      });

      it('forward: gates, states, probabilities and loss', () => {
        const u = load();
        setInitialState(u);
        const loss = u.forward();
        close([loss], [g.loss], rtol, atol, 'loss');
        u.layers.forEach((c, l) => {
          const ref = g.layers[l];
          close(c.hs.subarray(B * H), flat(ref.h), rtol, atol, `layer ${l} h`);
          if (cell === 'rnn_relu') {
            // both sides of relu's kink are exercised: silent units (h = 0 exactly, relu′ = 0) and active ones
            const silent = flat(ref.h).filter((x) => x === 0).length;
            assert.ok(silent > 0 && silent < T * B * H, `layer ${l}: ${silent} of ${T * B * H} silent`);
            assert.equal(Array.from(c.hs.subarray(B * H)).filter((x) => x === 0).length, silent, `layer ${l}: the same units silent`);
          }
          if (cell === 'lstm') close(c.cs!.subarray(B * H), flat(ref.c), rtol, atol, `layer ${l} c`);
          if (!isPlainRnn(cell)) {
            const G = GATE_NAMES[cell].length;
            GATE_NAMES[cell].forEach((name, gi) => {
              const got: number[] = [];
              for (let r = 0; r < T * B; r++) for (let j = 0; j < H; j++) got.push(c.act![r * G * H + gi * H + j]!);
              close(got, flat(ref[name]), rtol, atol, `layer ${l} gate ${name}`);
            });
          }
          close(c.hs.subarray(T * B * H), flat(g.hT[l]), rtol, atol, `layer ${l} h_T`);
          if (cell === 'lstm') close(c.cs!.subarray(T * B * H), flat(g.cT[l]), rtol, atol, `layer ${l} c_T`);
        });
        const logits = flat(g.logits);
        const probs: number[] = [];
        for (let r = 0; r < T * B; r++) {
          const row = logits.slice(r * V, r * V + V);
          const m = Math.max(...row);
          const z = row.reduce((s, x) => s + Math.exp(x - m), 0);
          probs.push(...row.map((x) => Math.exp(x - m) / z));
        }
        close(u.probs, probs, rtol, atol, 'probs');
      });

      it('backward: every parameter gradient and the per-timestep gradient norms', () => {
        const u = load();
        setInitialState(u);
        u.forward();
        u.net.zeroGrad();
        u.backward();
        for (const t of u.net.layout.tensors) {
          close(u.net.grads.subarray(t.offset, t.offset + t.size), g.grads[t.name], rtol, atol, `∂L/∂${t.name}`);
        }
        u.layers.forEach((c, l) => {
          close(c.gradH, g.gradNorms[l].gradH, rtol, atol, `layer ${l} gradH`);
          if (cell === 'lstm') close(c.gradC!, g.gradNorms[l].gradC, rtol, atol, `layer ${l} gradC`);
        });
      });

      it('two Adam steps with active global-norm clipping', () => {
        const u = load();
        const net = u.net;
        const adam = new Adam(net.params.length, { ...ADAM_DEFAULTS, lr: g.adam.lr }, Float);
        for (const ref of g.adam.steps) {
          setInitialState(u);
          const loss = u.forward();
          net.zeroGrad();
          u.backward();
          const clip = clipGradients(net.grads, 'norm', g.adam.clip);
          assert.ok(clip.clipRatio < 1, 'clipping must be active for this check to mean anything');
          adam.update(net.params, net.grads);
          close([loss], [ref.loss], rtol, atol, 'loss');
          close([clip.gradNorm], [ref.gradNorm], rtol, atol, 'grad norm');
          for (const t of net.layout.tensors) {
            close(net.params.subarray(t.offset, t.offset + t.size), ref.params[t.name], rtol, atol, `${t.name} after step ${adam.step}`);
          }
        }
      });

      it('trace of a text with an emoji: loss, probabilities, internals, gradient norms, parameter gradients', () => {
        const tr = json(`${cell}_trace.json`);
        const model = decodeModelFile(bytes, Float, createKernels(kernels, Float));
        const tokens = model.vocab.encode(tr.text);
        assert.deepEqual([...tokens], tr.tokens, 'the emoji is one token');
        const trace = traceTokens(model.net, tokens, { paramGrads: true, fullProbs: true });
        close([trace.loss], [tr.loss], rtol, atol, 'loss');
        // the trace's arrays are float32 for transport, so they are compared at float32 precision at best
        const [r32, a32] = [Math.max(rtol, 3e-7), Math.max(atol, 1e-9)];
        assert.ok(trace.probs !== null, 'fullProbs keeps the whole distribution');
        close(trace.probs, flat(tr.probs), r32, a32, 'probs');
        // what every trace keeps of it: p of the character that came (none after the last)
        const refProbs = flat(tr.probs), nV = model.net.cfg.vocabSize, nT = tokens.length;
        close(trace.predictions.pNext.subarray(0, nT - 1), Array.from({ length: nT - 1 }, (_, t) => refProbs[t * nV + tokens[t + 1]!]!), r32, a32, 'p of the next character');
        assert.ok(Number.isNaN(trace.predictions.pNext[nT - 1]), 'no next character after the last');
        trace.layers.forEach((layer, l) => {
          const ref = tr.layers[l];
          close(layer.h, flat(ref.h), r32, a32, `layer ${l} h`);
          if (layer.c) close(layer.c, flat(ref.c), r32, a32, `layer ${l} c`);
          for (const name of Object.keys(layer.gates)) close(layer.gates[name]!, flat(ref[name]), r32, a32, `layer ${l} ${name}`);
          close(layer.gradH, tr.gradNorms[l].gradH, r32, a32, `layer ${l} gradH`);
          if (layer.gradC) close(layer.gradC, tr.gradNorms[l].gradC, r32, a32, `layer ${l} gradC`);
        });
        for (const [name, grad] of trace.paramGrads!) close(grad, tr.paramGrads[name], r32, a32, `∂loss/∂${name}`);
      });

      it('the loss of one prediction: ‖∂L_T/∂h_t‖, ‖∂L_T/∂c_t‖, saliency ‖∂L_T/∂e_t‖ and ∂L_T/∂θ', () => {
        const tr = json(`${cell}_trace.json`);
        const p = tr.prediction;
        const model = decodeModelFile(bytes, Float, createKernels(kernels, Float));
        const tokens = model.vocab.encode(tr.text);
        // reach.ts, in float64 over the internals the forward kept (float64 here for the float64 engine)
        const rec = forwardRecordOf(model.net, tokens);
        const g = predictionGradients(model.net, rec, p.at);
        close([g.loss], [p.loss], rtol, atol, 'L_T');
        const byTime = (byK: Float64Array): Float64Array => {
          const out = new Float64Array(tokens.length);
          for (let k = 0; k <= g.maxK; k++) out[p.at - k] = byK[k]!;
          return out;
        };
        g.layers.forEach((layer, l) => {
          close(byTime(layer.gradH), p.gradNorms[l].gradH, rtol, atol, `layer ${l} ‖∂L_T/∂h_t‖`);
          if (layer.gradC) close(byTime(layer.gradC), p.gradNorms[l].gradC, rtol, atol, `layer ${l} ‖∂L_T/∂c_t‖`);
        });
        close(byTime(g.saliency), p.saliency, rtol, atol, 'saliency');
        // the engine's own backward with the loss on that one position (trace --loss-at --param-grads)
        const trace = traceTokens(model.net, tokens, { paramGrads: true, lossAt: p.at });
        const [r32, a32] = [Math.max(rtol, 3e-7), Math.max(atol, 1e-9)];
        trace.layers.forEach((layer, l) => close(layer.gradH, p.gradNorms[l].gradH, r32, a32, `trace layer ${l} gradH`));
        for (const [name, grad] of trace.paramGrads!) close(grad, p.paramGrads[name], r32, a32, `∂L_T/∂${name}`);
      });
    });
  }
}

/** A batch-1 forward from a zero state with its internals in the network's float type. */
function forwardRecordOf(net: Network, tokens: Int32Array): ReturnType<typeof forwardRecord> {
  const u = new Unroll(net, tokens.length, 1);
  u.inputs.set(tokens);
  u.resetState();
  u.forward();
  return forwardRecord(u);
}
