import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeModelFile } from '../../../src/engine/modelfile';
import { Network } from '../../../src/engine/network';
import { Adam, ADAM_DEFAULTS, clipGradients } from '../../../src/engine/optim';
import { traceTokens } from '../../../src/engine/trace';
import { CELL_TYPES, GATE_NAMES } from '../../../src/engine/types';
import { Unroll } from '../../../src/engine/unroll';
import { createKernels } from '../../../src/engine/wasm/wasmKernels';

/**
 * The PyTorch golden values (golden.test.ts, test/fixtures/golden) in float32 on each kernel set explicitly:
 * golden.test.ts runs whatever a float32 Network picks by default, which is the WebAssembly kernels where the
 * host runs them; this keeps both the TypeScript and the WebAssembly float32 paths pinned to PyTorch. Same
 * tolerances as golden.test.ts's float32 run (rtol 1e−4, atol 2e−5, justified there).
 */
const FIXTURES = path.join(__dirname, '../../fixtures/golden');
const RTOL = 1e-4, ATOL = 2e-5;

type Nested = number | Nested[];
const flat = (x: Nested): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x]);
const json = (name: string): any => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));

function close(got: ArrayLike<number>, want: number[], what: string, rtol = RTOL, atol = ATOL): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i]! - want[i]!) <= atol + rtol * Math.abs(want[i]!), `${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

for (const cell of CELL_TYPES) {
  for (const kind of ['js', 'wasm'] as const) {
    describe(`PyTorch golden values (${cell}, float32, ${kind} kernels)`, () => {
      const g = json(`${cell}.json`);
      const bytes = new Uint8Array(readFileSync(path.join(FIXTURES, `${cell}.safetensors`)));
      const { T, B, H, L, V } = g.config;

      /** The model file's network, on the chosen kernels. */
      function network(): { net: Network; encode: (s: string) => Int32Array } {
        const m = decodeModelFile(bytes, Float32Array);
        const net = new Network(m.net.cfg, Float32Array, createKernels(kind));
        net.params.set(m.net.params);
        return { net, encode: (s) => m.vocab.encode(s) };
      }
      function unroll(): Unroll {
        const u = new Unroll(network().net, T, B);
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

      it('forward and backward: loss, states, gates, probabilities, every gradient and gradient norm', () => {
        const u = unroll();
        setInitialState(u);
        close([u.forward()], [g.loss], 'loss');
        u.layers.forEach((c, l) => {
          close(c.hs.subarray(B * H), flat(g.layers[l].h), `layer ${l} h`);
          if (cell === 'lstm') close(c.cs!.subarray(B * H), flat(g.layers[l].c), `layer ${l} c`);
          if (cell !== 'rnn_tanh') {
            GATE_NAMES[cell].forEach((name, gi) => {
              const G = GATE_NAMES[cell].length, got: number[] = [];
              for (let r = 0; r < T * B; r++) for (let j = 0; j < H; j++) got.push(c.act![r * G * H + gi * H + j]!);
              close(got, flat(g.layers[l][name]), `layer ${l} gate ${name}`);
            });
          }
        });
        const logits = flat(g.logits), probs: number[] = [];
        for (let r = 0; r < T * B; r++) {
          const row = logits.slice(r * V, r * V + V), m = Math.max(...row);
          const z = row.reduce((s, x) => s + Math.exp(x - m), 0);
          probs.push(...row.map((x) => Math.exp(x - m) / z));
        }
        close(u.probs, probs, 'probs');
        u.net.zeroGrad();
        u.backward();
        for (const t of u.net.layout.tensors) close(u.net.grads.subarray(t.offset, t.offset + t.size), g.grads[t.name], `∂L/∂${t.name}`);
        u.layers.forEach((c, l) => {
          close(c.gradH, g.gradNorms[l].gradH, `layer ${l} gradH`);
          if (cell === 'lstm') close(c.gradC!, g.gradNorms[l].gradC, `layer ${l} gradC`);
        });
        assert.equal(L, u.layers.length);
      });

      it('two Adam steps with active global-norm clipping', () => {
        const u = unroll();
        const net = u.net;
        const adam = new Adam(net.params.length, { ...ADAM_DEFAULTS, lr: g.adam.lr }, Float32Array);
        for (const ref of g.adam.steps) {
          setInitialState(u);
          const loss = u.forward();
          net.zeroGrad();
          u.backward();
          const clip = clipGradients(net.grads, 'norm', g.adam.clip);
          adam.update(net.params, net.grads);
          close([loss, clip.gradNorm], [ref.loss, ref.gradNorm], 'loss, grad norm');
          for (const t of net.layout.tensors) close(net.params.subarray(t.offset, t.offset + t.size), ref.params[t.name], `${t.name} after step ${adam.step}`);
        }
      });

      it('trace of a text with an emoji', () => {
        const tr = json(`${cell}_trace.json`);
        const { net, encode } = network();
        const trace = traceTokens(net, encode(tr.text), { paramGrads: true });
        close([trace.loss], [tr.loss], 'loss');
        close(trace.probs, flat(tr.probs), 'probs');
        trace.layers.forEach((layer, l) => {
          close(layer.h, flat(tr.layers[l].h), `layer ${l} h`);
          if (layer.c) close(layer.c, flat(tr.layers[l].c), `layer ${l} c`);
          for (const name of Object.keys(layer.gates)) close(layer.gates[name]!, flat(tr.layers[l][name]), `layer ${l} ${name}`);
          close(layer.gradH, tr.gradNorms[l].gradH, `layer ${l} gradH`);
          if (layer.gradC) close(layer.gradC, tr.gradNorms[l].gradC, `layer ${l} gradC`);
        });
        for (const [name, grad] of trace.paramGrads!) close(grad, tr.paramGrads[name], `∂loss/∂${name}`);
      });
    });
  }
}
