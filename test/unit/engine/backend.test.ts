import assert from 'node:assert/strict';
import { rowHelpers, useFastKernels } from '../../../src/engine/backend';
import { JsKernels, setDefaultKernels, type Kernels } from '../../../src/engine/kernels';
import { Network } from '../../../src/engine/network';
import { nodeThreads } from '../../../src/engine/parallel/nodeThreads';
import { Rng } from '../../../src/engine/rng';
import { traceTokens } from '../../../src/engine/trace';
import { FUSED_MIN_STEPS } from '../../../src/engine/unroll';
import { WasmKernels } from '../../../src/engine/wasm/wasmKernels';

const cfg = { cell: 'lstm', vocabSize: 9, embed: 4, hidden: 16, layers: 1 } as const;

describe('engine wiring (backend.ts): the core computes on what it is given', () => {
  afterEach(() => useFastKernels()); // test/setup.ts's state, for the tests after these

  it('networks get the TypeScript reference unless the wiring installed faster kernels', () => {
    setDefaultKernels(null);
    assert.ok(new Network(cfg).kernels instanceof JsKernels);
    useFastKernels();
    assert.ok(new Network(cfg).kernels instanceof WasmKernels);
    assert.ok(new Network(cfg, Float64Array).kernels instanceof JsKernels, 'only the reference computes in float64');
  });

  it('the fused recurrence and the kept buffers are capabilities of the kernels, not of their class', () => {
    const wasm = new WasmKernels();
    assert.equal(wasm.retainsMemory, true);
    assert.ok(wasm.fusedLstm);
    const js: Kernels = new JsKernels();
    assert.equal(js.retainsMemory, undefined);
    assert.equal(js.fusedLstm, undefined);
  });

  it('a trace on kernels without the speed-ups equals one with them (fused recurrence, row helper) to float32 rounding', () => {
    const make = (kernels: JsKernels | WasmKernels): Network => {
      const n = new Network(cfg, Float32Array, kernels);
      n.initialize(new Rng(4));
      return n;
    };
    const ids = Int32Array.from({ length: FUSED_MIN_STEPS + 40 }, (_, i) => (i * 7 + (i >> 3)) % cfg.vocabSize);
    const plain = traceTokens(make(new JsKernels()), ids, { paramGrads: true });
    const fast = traceTokens(make(new WasmKernels()), ids, { paramGrads: true, rowHelper: rowHelpers(nodeThreads), threadsAtAnySize: true });
    assert.ok(Math.abs(plain.loss - fast.loss) < 1e-5 * Math.abs(plain.loss), `${plain.loss} vs ${fast.loss}`);
    const h0 = plain.layers[0]!.h, h1 = fast.layers[0]!.h;
    let worst = 0;
    for (let i = 0; i < h0.length; i++) worst = Math.max(worst, Math.abs(h0[i]! - h1[i]!));
    assert.ok(worst < 1e-5, `h differs by ${worst}`);
    for (const [name, g] of plain.paramGrads!) {
      const f = fast.paramGrads!.get(name)!;
      let d = 0, m = 0;
      for (let i = 0; i < g.length; i++) { d = Math.max(d, Math.abs(g[i]! - f[i]!)); m = Math.max(m, Math.abs(g[i]!)); }
      assert.ok(d <= 1e-4 * Math.max(m, 1e-3), `${name}: ${d} against a largest entry of ${m}`);
    }
  });
});
