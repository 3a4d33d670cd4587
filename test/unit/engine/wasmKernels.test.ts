import * as assert from 'node:assert/strict';
import { gruBackward, gruForward, lstmBackward, lstmForward, rnnBackward, rnnForward } from '../../../src/engine/cells';
import { JsKernels } from '../../../src/engine/kernels';
import { Rng } from '../../../src/engine/rng';
import type { FloatArray } from '../../../src/engine/types';
import { bestVariant, type KernelVariant } from '../../../src/engine/wasm/module';
import { WasmKernels } from '../../../src/engine/wasm/wasmKernels';

/**
 * Every WebAssembly kernel against the TypeScript reference run in float64 on the same float32 inputs, on
 * shapes with every remainder of the kernels' blocks (4×8 and 2×4 tiles, 4-float vectors, 8-row gemv, 256-row
 * slabs of gemmTN), with offsets, accumulation, operands inside and outside the wasm memory, and sentinels
 * around every output to catch a write outside it.
 *
 * Tolerances. A float32 dot product of length K, however its terms are grouped, is within γ·Σ|a_k·b_k| of the
 * exact sum with γ = K·u/(1 − K·u), u = 2⁻²⁴ (Higham, Accuracy and Stability, §3.1); accumulating into C adds
 * one more rounding of |C|. So products are checked against (K + 2)·u·(Σ|a·b| + |C₀|), a bound that no correct
 * summation order exceeds and a wrong index or a lost term exceeds by orders of magnitude. The elementwise
 * steps are a few float32 operations on float32 inputs, and exp, σ, tanh are within 3 ulp: each output is
 * checked to 32 ulp of its scale, |Δ| ≤ 32·u·max(1, |want|), 100× under any wrong term. Softmax probabilities
 * get |log p| more ulp: exp amplifies the rounding of its float32 argument l − max by |l − max| = |log p|.
 * GATESCOPE_WASM_VARIANT picks the variant (wasm-relaxed.test.ts runs this file again with relaxed SIMD).
 */
const U = 2 ** -24;
const SENTINEL = 12345.5;
const variant = (process.env['GATESCOPE_WASM_VARIANT'] as KernelVariant | undefined) ?? bestVariant();

describe(`WebAssembly kernels (${variant ?? 'unavailable'})`, () => {
  it('run on this host (Node 20 has SIMD and shared memory)', () => {
    assert.notEqual(variant, null);
  });
  if (variant === null) return;

  const wasm = new WasmKernels(variant);
  const js = new JsKernels();
  const w = {
    lstmForward: wasm.lstmForward.bind(wasm), lstmBackward: wasm.lstmBackward.bind(wasm),
    gruForward: wasm.gruForward.bind(wasm), gruBackward: wasm.gruBackward.bind(wasm),
    rnnForward: wasm.rnnForward.bind(wasm), rnnBackward: wasm.rnnBackward.bind(wasm),
  };
  const rng = new Rng(11);
  const uniform = (n: number, lo = -1, hi = 1): number[] => Array.from({ length: n }, () => rng.uniform(lo, hi));

  /** A float32 array holding `values` after `pad` sentinels and followed by `pad` more: in wasm memory or not. */
  function place(values: number[], pad: number, inWasm: boolean): Float32Array {
    const a = inWasm ? wasm.allocate(Float32Array, values.length + 2 * pad) as Float32Array : new Float32Array(values.length + 2 * pad);
    a.fill(SENTINEL);
    a.set(values, pad);
    return a;
  }

  function checkSentinels(a: Float32Array, pad: number, n: number, what: string): void {
    for (let i = 0; i < pad; i++) {
      assert.equal(a[i], SENTINEL, `${what}: wrote before the output`);
      assert.equal(a[pad + n + i], SENTINEL, `${what}: wrote past the output`);
    }
  }

  describe('matrix products', () => {
    type Op = 'NT' | 'NN' | 'TN';
    /** A's and B's entry at (i, k) and (k, j) of the product, by layout. */
    const aAt = (op: Op, M: number, K: number, i: number, k: number): number => (op === 'TN' ? k * M + i : i * K + k);
    const bAt = (op: Op, N: number, K: number, k: number, j: number): number => (op === 'NT' ? j * K + k : k * N + j);

    function check(op: Op, M: number, N: number, K: number, placement: 'wasm' | 'plain' | 'mixed'): void {
      const pad = 3;
      const a = uniform(M * K), b = uniform(N * K), c0 = uniform(M * N);
      const A = place(a, pad, placement === 'wasm'), B = place(b, pad, placement !== 'plain');
      for (const accumulate of [false, true]) {
        const C = place(c0, pad, placement === 'wasm');
        const run = op === 'NT' ? wasm.gemmNT : op === 'NN' ? wasm.gemmNN : wasm.gemmTN;
        run.call(wasm, M, N, K, A, pad, B, pad, C, pad, accumulate);
        const what = `${op} ${M}×${N}×${K} ${placement}${accumulate ? ' +=' : ''}`;
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let want = accumulate ? Math.fround(c0[i * N + j]!) : 0, scale = Math.abs(want);
            for (let k = 0; k < K; k++) {
              const t = A[pad + aAt(op, M, K, i, k)]! * B[pad + bAt(op, N, K, k, j)]!;
              want += t;
              scale += Math.abs(t);
            }
            const got = C[pad + i * N + j]!;
            assert.ok(Math.abs(got - want) <= (K + 2) * U * scale + 1e-30, `${what} [${i},${j}]: got ${got}, want ${want}`);
          }
        }
        checkSentinels(C, pad, M * N, what);
      }
    }

    const Ms = [1, 2, 3, 4, 5, 7, 8, 9];
    const Ns = [1, 3, 4, 5, 7, 8, 9, 12, 17];
    const Ks = [1, 2, 3, 4, 5, 7, 8, 17];
    for (const op of ['NT', 'NN', 'TN'] as const) {
      it(`gemm${op}: every M, N, K remainder (${Ms.length * Ns.length * Ks.length} shapes), accumulate on and off`, () => {
        for (const M of Ms) for (const N of Ns) for (const K of Ks) check(op, M, N, K, 'wasm');
      });
      it(`gemm${op}: the LSTM's shapes (per step, all rows, decoder, batch 1), and operands outside wasm memory`, () => {
        check(op, 32, 64, 32, 'wasm');
        check(op, 9, 102, 33, 'wasm');
        check(op, 13, 17, 300, 'wasm'); // K over one 256-row slab of gemmTN
        check(op, 1, 130, 40, 'wasm'); // batch 1: gemv, and 32-column chunks of one row
        check(op, 6, 21, 11, 'plain');
        check(op, 5, 13, 9, 'mixed');
      });
    }
    it('gemmNN from 256 columns on (B packed in slabs of 256 rows): odd rows, columns past 16-column panels, K of several slabs', () => {
      for (const [M, N, K] of [[5, 259, 300], [4, 256, 513], [2, 271, 7], [1, 256, 40], [3, 260, 0]] as const) {
        check('NN', M, N, K, 'wasm');
      }
      check('NN', 3, 257, 260, 'mixed');
    });
    it('gemv (M = 1): every N remainder of its 8-row blocks, K remainders', () => {
      for (let N = 1; N <= 17; N++) for (const K of [1, 3, 4, 6, 33]) check('NT', 1, N, K, 'wasm');
    });
    it('K = 0 gives zeros (or leaves C) and M or N = 0 writes nothing', () => {
      for (const op of ['NT', 'NN', 'TN'] as const) {
        check(op, 3, 5, 0, 'wasm');
        check(op, 0, 5, 4, 'wasm');
        check(op, 3, 0, 4, 'wasm');
      }
    });
    it('float64 operands take the TypeScript path, bit for bit', () => {
      const M = 5, N = 7, K = 9;
      const A = Float64Array.from(uniform(M * K)), B = Float64Array.from(uniform(N * K));
      const C1 = new Float64Array(M * N), C2 = new Float64Array(M * N);
      wasm.gemmNT(M, N, K, A, 0, B, 0, C1, 0, false);
      js.gemmNT(M, N, K, A, 0, B, 0, C2, 0, false);
      assert.deepEqual(C1, C2);
    });
  });

  describe('cells, elementwise', () => {
    /** Runs a step with the wasm kernels on float32 buffers in wasm memory and with the reference on float64
     * copies; compares every output (and in-out) buffer to 32 ulp of its scale. */
    function compare(what: string, sizes: Record<string, number>, init: (name: string, i: number) => number,
      outputs: string[], run: (k: 'wasm' | 'ref', b: Record<string, FloatArray>) => number | void): void {
      const pad = 4;
      const w: Record<string, Float32Array> = {}, r: Record<string, Float64Array> = {};
      for (const [name, n] of Object.entries(sizes)) {
        const values = Array.from({ length: n }, (_, i) => Math.fround(init(name, i)));
        w[name] = place(values, pad, true).subarray(pad, pad + n);
        r[name] = Float64Array.from(values);
      }
      const gotRet = run('wasm', w), wantRet = run('ref', r);
      if (typeof wantRet === 'number') assert.ok(Math.abs((gotRet as number) - wantRet) <= 64 * U * Math.max(1, wantRet), `${what} return: ${gotRet} vs ${wantRet}`);
      for (const name of outputs) {
        const got = w[name]!, want = r[name]!;
        for (let i = 0; i < want.length; i++) {
          assert.ok(Math.abs(got[i]! - want[i]!) <= 32 * U * Math.max(1, Math.abs(want[i]!)), `${what} ${name}[${i}]: got ${got[i]}, want ${want[i]}`);
        }
        const whole = new Float32Array(got.buffer, got.byteOffset - pad * 4, got.length + 2 * pad);
        checkSentinels(whole, pad, got.length, `${what} ${name}`);
      }
    }
    // pre-activations spread over [−8, 8] with a few far outside (saturated gates, the clamps of exp and tanh)
    const pre = (_: string, i: number): number => (i % 11 === 5 ? rng.uniform(-40, 40) : rng.uniform(-8, 8));
    const unit = (): number => rng.uniform(-1, 1);
    const gate = (): number => rng.uniform(0, 1);
    const shapes = [[1, 1], [1, 3], [2, 4], [3, 5], [2, 8], [1, 13]];

    for (const [B, H] of shapes as [number, number][]) {
      it(`LSTM forward and backward, B=${B} H=${H}`, () => {
        const n = B * H, g = 4 * B * H;
        compare(`lstmForward ${B}×${H}`, { xp: g, hp: g, cPrev: n, act: g, c: n, tc: n, h: n },
          (name, i) => (name === 'xp' || name === 'hp' ? pre(name, i) : name === 'cPrev' ? rng.uniform(-3, 3) : 0),
          ['act', 'c', 'tc', 'h'], (k, b) => (k === 'wasm' ? w.lstmForward : lstmForward)(
            B, H, b.xp!, 0, b.hp!, 0, b.cPrev!, 0, b.act!, 0, b.c!, 0, b.tc!, 0, b.h!, 0));
        compare(`lstmBackward ${B}×${H}`, { act: g, cPrev: n, tc: n, dh: n, dc: n, da: g },
          (name) => (name === 'act' ? gate() : name === 'cPrev' ? rng.uniform(-3, 3) : name === 'da' ? 0 : unit()),
          ['da', 'dc'], (k, b) => (k === 'wasm' ? w.lstmBackward : lstmBackward)(
            B, H, b.act!, 0, b.cPrev!, 0, b.tc!, 0, b.dh!, b.dc!, b.da!, 0));
      });
      it(`GRU forward and backward, B=${B} H=${H}`, () => {
        const n = B * H, g = 3 * B * H;
        compare(`gruForward ${B}×${H}`, { xp: g, hp: g, hPrev: n, act: g, hpn: n, h: n },
          (name, i) => (name === 'xp' || name === 'hp' ? pre(name, i) : name === 'hPrev' ? unit() : 0),
          ['act', 'hpn', 'h'], (k, b) => (k === 'wasm' ? w.gruForward : gruForward)(
            B, H, b.xp!, 0, b.hp!, 0, b.hPrev!, 0, b.act!, 0, b.hpn!, 0, b.h!, 0));
        compare(`gruBackward ${B}×${H}`, { act: g, hpn: n, hPrev: n, dh: n, dxp: g, dhp: g, dhDirect: n },
          (name) => (name === 'act' ? gate() : name === 'hpn' ? rng.uniform(-3, 3) : name.startsWith('d') && name !== 'dh' ? 0 : unit()),
          ['dxp', 'dhp', 'dhDirect'], (k, b) => (k === 'wasm' ? w.gruBackward : gruBackward)(
            B, H, b.act!, 0, b.hpn!, 0, b.hPrev!, 0, b.dh!, b.dxp!, 0, b.dhp!, 0, b.dhDirect!));
      });
      it(`RNN forward and backward, B=${B} H=${H}`, () => {
        const n = B * H;
        compare(`rnnForward ${B}×${H}`, { xp: n, hp: n, h: n }, (name, i) => (name === 'h' ? 0 : pre(name, i)),
          ['h'], (k, b) => (k === 'wasm' ? w.rnnForward : rnnForward)(B, H, b.xp!, 0, b.hp!, 0, b.h!, 0));
        compare(`rnnBackward ${B}×${H}`, { h: n, dh: n, da: n }, (name) => (name === 'da' ? 0 : unit()),
          ['da'], (k, b) => (k === 'wasm' ? w.rnnBackward : rnnBackward)(B, H, b.h!, 0, b.dh!, b.da!, 0));
      });
    }

    it('in place, as the stepper runs them: c and h read before written', () => {
      const H = 7;
      compare('lstmForward in place', { xp: 4 * H, hp: 4 * H, c: H, act: 4 * H, tc: H, h: H },
        (name, i) => (name === 'xp' || name === 'hp' ? pre(name, i) : name === 'c' ? rng.uniform(-3, 3) : 0),
        ['act', 'c', 'tc', 'h'], (k, b) => (k === 'wasm' ? w.lstmForward : lstmForward)(
          1, H, b.xp!, 0, b.hp!, 0, b.c!, 0, b.act!, 0, b.c!, 0, b.tc!, 0, b.h!, 0));
      compare('gruForward in place', { xp: 3 * H, hp: 3 * H, h: H, act: 3 * H, hpn: H },
        (name, i) => (name === 'xp' || name === 'hp' ? pre(name, i) : name === 'h' ? unit() : 0),
        ['act', 'hpn', 'h'], (k, b) => (k === 'wasm' ? w.gruForward : gruForward)(
          1, H, b.xp!, 0, b.hp!, 0, b.h!, 0, b.act!, 0, b.hpn!, 0, b.h!, 0));
    });

    it('RNN (ReLU) forward and backward: the exact float32 result, on every shape, in the memory or out of it', () => {
      const pad = 4;
      for (const [B, H] of shapes as [number, number][]) {
        const n = B * H;
        const xp = uniform(n, -2, 2).map(Math.fround), hp = uniform(n, -2, 2).map(Math.fround), dh = uniform(n).map(Math.fround);
        for (let k = 0; k < n; k += 3) hp[k] = -xp[k]!; // pre-activation exactly 0: h = 0, and no gradient through it
        const sum = xp.map((x, k) => Math.fround(x + hp[k]!));
        const wantH = sum.map((a) => (a > 0 ? a : 0));
        const wantDa = wantH.map((y, k) => (y > 0 ? dh[k]! : 0));
        if (n >= 4) assert.ok(wantH.some((y) => y === 0) && wantH.some((y) => y > 0), 'both sides of the kink');
        for (const inWasm of [true, false]) {
          const [x, r, h, d, da] = [xp, hp, new Array<number>(n).fill(0), dh, new Array<number>(n).fill(SENTINEL)].map((v) => place(v, pad, inWasm));
          wasm.rnnReluForward(B, H, x!, pad, r!, pad, h!, pad);
          assert.deepEqual(Array.from(h!.subarray(pad, pad + n)), wantH, `rnnReluForward ${B}×${H}`);
          wasm.rnnReluBackward(B, H, h!, pad, d!.subarray(pad), da!, pad);
          assert.deepEqual(Array.from(da!.subarray(pad, pad + n)), wantDa, `rnnReluBackward ${B}×${H}`);
          checkSentinels(h!, pad, n, 'h');
          checkSentinels(da!, pad, n, 'da');
        }
      }
    });

    it('operands outside wasm memory fall back to the reference, with the same results', () => {
      const H = 5, xp = Float32Array.from(uniform(4 * H, -4, 4)), hp = Float32Array.from(uniform(4 * H, -4, 4));
      const outs = (): Float32Array[] => [new Float32Array(H), new Float32Array(4 * H), new Float32Array(H), new Float32Array(H), new Float32Array(H)];
      const [c1, act1, cn1, tc1, h1] = outs(), [c2, act2, cn2, tc2, h2] = outs();
      wasm.lstmForward(1, H, xp, 0, hp, 0, c1!, 0, act1!, 0, cn1!, 0, tc1!, 0, h1!, 0);
      js.lstmForward(1, H, xp, 0, hp, 0, c2!, 0, act2!, 0, cn2!, 0, tc2!, 0, h2!, 0);
      assert.deepEqual([act1, cn1, tc1, h1], [act2, cn2, tc2, h2]);
    });
  });

  describe('row-wise steps', () => {
    const inWasm = (values: number[]): Float32Array => place(values, 0, true);
    const ids = (rows: number, V: number): Int32Array => Int32Array.from({ length: rows }, () => rng.nextUint32() % V);

    it('addBias, addColumnSums, gatherRows, scatterAddRows: bit for bit the float32 reference, any width', () => {
      for (const [rows, n] of [[1, 1], [3, 5], [7, 16], [5, 21], [33, 102]] as [number, number][]) {
        const src = uniform(rows * n), bias = uniform(n), start = uniform(n);
        const pairs = (make: (v: number[]) => Float32Array): Float32Array[] => [make(src), make(bias), make(start)];
        const [sw, bw, dw] = pairs(inWasm), [sj, bj, dj] = pairs((v) => Float32Array.from(v));
        wasm.addBias(rows, n, sw!, 0, bw!, 0);
        js.addBias(rows, n, sj!, 0, bj!, 0);
        assert.deepEqual(sw, sj, `addBias ${rows}×${n}`);
        wasm.addColumnSums(rows, n, sw!, 0, dw!, 0);
        js.addColumnSums(rows, n, sj!, 0, dj!, 0);
        assert.deepEqual(dw, dj, `addColumnSums ${rows}×${n}`);
        const V = 4, table = uniform(V * n), tokens = ids(rows, V);
        const gw = inWasm(new Array(rows * n).fill(0)), gj = new Float32Array(rows * n);
        wasm.gatherRows(rows, n, tokens, inWasm(table), gw, 0);
        js.gatherRows(rows, n, tokens, Float32Array.from(table), gj, 0);
        assert.deepEqual(gw, gj, `gatherRows ${rows}×${n}`);
        const tw = inWasm(table), tj = Float32Array.from(table);
        wasm.scatterAddRows(rows, n, tokens, sw!, 0, tw);
        js.scatterAddRows(rows, n, tokens, sj!, 0, tj);
        assert.deepEqual(tw, tj, `scatterAddRows ${rows}×${n}`);
      }
    });

    it('optimiser: scale and adamUpdate bit for bit the reference (float64 arithmetic), sumSquares to float64 precision', () => {
      const step = { stepSize: 2e-3 / (1 - 0.9 ** 3), bc2Sqrt: Math.sqrt(1 - 0.999 ** 3), beta1: 0.9, beta2: 0.999, eps: 1e-8 };
      for (const n of [1, 3, 4, 7, 1029]) {
        // gradients over many magnitudes, down to where √v meets ε, and a few exact zeros
        const g = uniform(n).map((x, i) => (i % 11 === 5 ? 0 : x * 10 ** (i % 9 - 6)));
        const m = uniform(n, -1e-3, 1e-3), v = uniform(n, 0, 1e-6), p = uniform(n);
        const [gw, mw, vw, pw] = [g, m, v, p].map(inWasm), [gj, mj, vj, pj] = [g, m, v, p].map((x) => Float32Array.from(x));
        const sq = js.sumSquares(n, gj!, 0);
        const got = wasm.sumSquares(n, gw!, 0);
        assert.ok(Math.abs(got - sq) <= n * 2 ** -53 * sq, `sumSquares ${n}: ${got} vs ${sq}`);
        wasm.scale(n, gw!, 0, 0.3);
        js.scale(n, gj!, 0, 0.3);
        assert.deepEqual(gw, gj, `scale ${n}`);
        wasm.adamUpdate(n, pw!, gw!, mw!, vw!, step);
        js.adamUpdate(n, pj!, gj!, mj!, vj!, step);
        assert.deepEqual([pw, mw, vw], [pj, mj, vj], `adamUpdate ${n}`);
      }
      // offsets, and operands outside the wasm memory (the reference runs them)
      const a = uniform(10);
      assert.equal(wasm.sumSquares(5, Float32Array.from(a), 3), js.sumSquares(5, Float32Array.from(a), 3));
      const aw = inWasm(a), aj = Float32Array.from(a);
      wasm.scale(5, aw, 3, 0.5);
      js.scale(5, aj, 3, 0.5);
      assert.deepEqual(aw, aj);
    });

    it('addNorm: the sum exactly, its squared norm to float32 precision', () => {
      for (const n of [1, 3, 4, 13, 4096]) {
        const a = uniform(n), b = uniform(n);
        const dw = inWasm(new Array(n).fill(0)), dj = new Float32Array(n);
        const sw = wasm.addNorm(n, inWasm(a), 0, inWasm(b), 0, dw, 0);
        const sj = js.addNorm(n, Float32Array.from(a), 0, Float32Array.from(b), 0, dj, 0);
        assert.deepEqual(dw, dj);
        assert.ok(Math.abs(sw - sj) <= 4 * U * sj, `addNorm ${n}: ${sw} vs ${sj}`);
      }
    });

    it('softmax cross-entropy forward and backward, rows with and without a target', () => {
      for (const [rows, V] of [[1, 1], [2, 3], [5, 102], [3, 17]] as [number, number][]) {
        const logits = uniform(rows * V, -30, 30), bias = uniform(V);
        const targets = Int32Array.from({ length: rows }, (_, r) => (r % 3 === 1 ? -1 : rng.nextUint32() % V));
        const pw = inWasm(logits), pj = Float64Array.from(pw);
        const lw = wasm.softmaxXent(rows, V, pw, inWasm(bias), targets);
        const lj = js.softmaxXent(rows, V, pj, Float64Array.from(inWasm(bias)), targets);
        assert.ok(Math.abs(lw - lj) <= 64 * U * Math.max(1, Math.abs(lj)) * rows, `loss ${rows}×${V}: ${lw} vs ${lj}`);
        // exp amplifies the float32 rounding of its argument l − max by |l − max|: p ≈ e^−45 is good to ~45 ulp
        for (let r = 0; r < rows; r++) {
          for (let v = 0; v < V; v++) {
            const i = r * V + v, spread = Math.abs(Math.log(Math.max(pj[i]!, 1e-38)));
            assert.ok(Math.abs(pw[i]! - pj[i]!) <= (32 + spread) * U * pj[i]! + 1e-38, `p[${i}] ${pw[i]} vs ${pj[i]}`);
          }
        }
        const dw = inWasm(new Array(rows * V).fill(SENTINEL)), dj = new Float64Array(rows * V);
        wasm.softmaxXentBackward(rows, V, pw, targets, 0.25, dw);
        js.softmaxXentBackward(rows, V, Float64Array.from(pw), targets, 0.25, dj);
        for (let i = 0; i < rows * V; i++) assert.ok(Math.abs(dw[i]! - dj[i]!) <= 2 * U, `dlogits[${i}] ${dw[i]} vs ${dj[i]}`);
      }
    });
  });
});
