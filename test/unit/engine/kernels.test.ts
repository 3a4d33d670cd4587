import * as assert from 'node:assert/strict';
import { JsKernels, transpose } from '../../../src/engine/kernels';
import { Rng } from '../../../src/engine/rng';

/** Naive triple loops in float64 are the reference for every kernel, on shapes with every remainder mod 4. */
function naive(M: number, N: number, K: number, a: (i: number, k: number) => number, b: (k: number, j: number) => number): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a(i, k) * b(k, j);
    c[i * N + j] = s;
  }
  return c;
}

describe('kernels', () => {
  const rng = new Rng(3);
  const rand = (n: number): Float64Array => Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
  const shapes = [[1, 1, 1], [1, 7, 5], [4, 4, 4], [5, 6, 7], [9, 13, 3], [32, 512, 128].map((x) => x / 4), [1, 102, 128]];
  const k = new JsKernels();

  for (const [M, N, K] of shapes as [number, number, number][]) {
    it(`gemmNT, gemmNN, gemmTN agree with naive loops at ${M}×${N}×${K}, with offsets and accumulation`, () => {
      const off = 3;
      const A = rand(off + M * K), Bnt = rand(off + N * K), Bnn = rand(off + K * N), At = rand(off + K * M);
      const expectNT = naive(M, N, K, (i, q) => A[off + i * K + q]!, (q, j) => Bnt[off + j * K + q]!);
      const expectNN = naive(M, N, K, (i, q) => A[off + i * K + q]!, (q, j) => Bnn[off + q * N + j]!);
      const expectTN = naive(M, N, K, (i, q) => At[off + q * M + i]!, (q, j) => Bnn[off + q * N + j]!);
      for (const [name, run, expect] of [
        ['NT', (C: Float64Array, acc: boolean) => k.gemmNT(M, N, K, A, off, Bnt, off, C, 2, acc), expectNT],
        ['NN', (C: Float64Array, acc: boolean) => k.gemmNN(M, N, K, A, off, Bnn, off, C, 2, acc), expectNN],
        ['TN', (C: Float64Array, acc: boolean) => k.gemmTN(M, N, K, At, off, Bnn, off, C, 2, acc), expectTN],
      ] as const) {
        const C = new Float64Array(2 + M * N).fill(0.5);
        run(C, false);
        for (let i = 0; i < M * N; i++) assert.ok(Math.abs(C[2 + i]! - expect[i]!) < 1e-12, `${name} overwrite [${i}]`);
        assert.equal(C[0], 0.5, `${name} wrote before its offset`);
        run(C, true);
        for (let i = 0; i < M * N; i++) assert.ok(Math.abs(C[2 + i]! - 2 * expect[i]!) < 1e-12, `${name} accumulate [${i}]`);
      }
      // float32 buffers take the same path with float32 rounding
      const C32 = new Float32Array(M * N);
      k.gemmNT(M, N, K, Float32Array.from(A), off, Float32Array.from(Bnt), off, C32, 0, false);
      for (let i = 0; i < M * N; i++) assert.ok(Math.abs(C32[i]! - expectNT[i]!) < 1e-5 * Math.max(1, K / 8));
    });
  }

  it('transpose handles non-square shapes larger than a tile', () => {
    const R = 11, C = 19;
    const src = rand(R * C);
    const dst = new Float64Array(R * C);
    transpose(R, C, src, 0, dst, 0);
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) assert.equal(dst[c * R + r], src[r * C + c]);
  });
});
