import { hsum, hsum4, madd } from './simd';

// Dimension legend: C is (M, N), each entry a sum over K products. Every pointer is a byte address of row-major
// float32 data; rk, rm, rn: bytes per row of K, M and N floats.

/** Stores 4 entries of C at p, or adds them when accumulating. */
// @ts-ignore: decorator
@inline function put(p: usize, v: v128, acc: bool): void {
  v128.store(p, acc ? f32x4.add(v128.load(p), v) : v);
}

/** Stores one entry of C at p, or adds it. */
// @ts-ignore: decorator
@inline function put1(p: usize, v: f32, acc: bool): void {
  store<f32>(p, acc ? load<f32>(p) + v : v);
}

/** [p0[0], p1[0], p2[0], p3[0]]: one float from each of 4 places (a column of 4 rows) as a vector. */
// @ts-ignore: decorator
@inline function gather4(p0: usize, p1: usize, p2: usize, p3: usize): v128 {
  let v = f32x4.splat(load<f32>(p0));
  v = f32x4.replace_lane(v, 1, load<f32>(p1));
  v = f32x4.replace_lane(v, 2, load<f32>(p2));
  return f32x4.replace_lane(v, 3, load<f32>(p3));
}

/**
 * C[M,N] (+)= A[M,K]·B[N,K]ᵀ as dot products: both operands stream along K with unit stride, so no packing.
 * Blocks of 2 rows of A × 4 rows of B keep 8 accumulators of 4 partial sums each (x64 has 16 vector registers,
 * and the mul/add pairs need one temporary); a horizontal reduction then turns each row's 4 accumulators into
 * one vector of 4 adjacent C entries.
 */
export function gemmNT(M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, acc: bool): void {
  const rk = <usize>K << 2, rn = <usize>N << 2;
  const kv = <usize>(K & ~3) << 2; // bytes of K covered by whole vectors
  let i = 0;
  for (; i + 2 <= M; i += 2) {
    const a0 = a + <usize>i * rk, a1 = a0 + rk;
    const c0 = c + <usize>i * rn, c1 = c0 + rn;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const b0 = b + <usize>j * rk, b1 = b0 + rk, b2 = b1 + rk, b3 = b2 + rk;
      let s00 = f32x4.splat(0), s01 = s00, s02 = s00, s03 = s00;
      let s10 = s00, s11 = s00, s12 = s00, s13 = s00;
      for (let k: usize = 0; k < kv; k += 16) {
        const x0 = v128.load(a0 + k), x1 = v128.load(a1 + k);
        let y = v128.load(b0 + k);
        s00 = madd(x0, y, s00); s10 = madd(x1, y, s10);
        y = v128.load(b1 + k);
        s01 = madd(x0, y, s01); s11 = madd(x1, y, s11);
        y = v128.load(b2 + k);
        s02 = madd(x0, y, s02); s12 = madd(x1, y, s12);
        y = v128.load(b3 + k);
        s03 = madd(x0, y, s03); s13 = madd(x1, y, s13);
      }
      let r0 = hsum4(s00, s01, s02, s03), r1 = hsum4(s10, s11, s12, s13);
      for (let k = kv; k < rk; k += 4) { // the last K mod 4 terms: a column of 4 B entries per term
        const y = gather4(b0 + k, b1 + k, b2 + k, b3 + k);
        r0 = madd(v128.load32_splat(a0 + k), y, r0);
        r1 = madd(v128.load32_splat(a1 + k), y, r1);
      }
      const cj = <usize>j << 2;
      put(c0 + cj, r0, acc);
      put(c1 + cj, r1, acc);
    }
    for (; j < N; j++) { // the last N mod 4 rows of B, one at a time
      const bj = b + <usize>j * rk;
      let s0 = f32x4.splat(0), s1 = s0;
      for (let k: usize = 0; k < kv; k += 16) {
        const y = v128.load(bj + k);
        s0 = madd(v128.load(a0 + k), y, s0);
        s1 = madd(v128.load(a1 + k), y, s1);
      }
      let r0 = hsum(s0), r1 = hsum(s1);
      for (let k = kv; k < rk; k += 4) {
        const y = load<f32>(bj + k);
        r0 += load<f32>(a0 + k) * y;
        r1 += load<f32>(a1 + k) * y;
      }
      const cj = <usize>j << 2;
      put1(c0 + cj, r0, acc);
      put1(c1 + cj, r1, acc);
    }
  }
  if (i < M) gemv(N, K, a + <usize>i * rk, b, c + <usize>i * rn, acc);
}

/**
 * y[N] (+)= W[N,K]·x[K], the batch-1 path (gemmNT with M = 1). Bound by streaming W once: 8 rows of W at a time
 * against the same x vector, 8 independent accumulators to hide the add latency.
 */
export function gemv(N: i32, K: i32, x: usize, w: usize, y: usize, acc: bool): void {
  const rk = <usize>K << 2;
  const kv = <usize>(K & ~3) << 2;
  let j = 0;
  for (; j + 8 <= N; j += 8) {
    const w0 = w + <usize>j * rk, w1 = w0 + rk, w2 = w1 + rk, w3 = w2 + rk;
    const w4 = w3 + rk, w5 = w4 + rk, w6 = w5 + rk, w7 = w6 + rk;
    let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (let k: usize = 0; k < kv; k += 16) {
      const v = v128.load(x + k);
      s0 = madd(v128.load(w0 + k), v, s0);
      s1 = madd(v128.load(w1 + k), v, s1);
      s2 = madd(v128.load(w2 + k), v, s2);
      s3 = madd(v128.load(w3 + k), v, s3);
      s4 = madd(v128.load(w4 + k), v, s4);
      s5 = madd(v128.load(w5 + k), v, s5);
      s6 = madd(v128.load(w6 + k), v, s6);
      s7 = madd(v128.load(w7 + k), v, s7);
    }
    let r0 = hsum4(s0, s1, s2, s3), r1 = hsum4(s4, s5, s6, s7);
    for (let k = kv; k < rk; k += 4) {
      const v = v128.load32_splat(x + k);
      let c = gather4(w0 + k, w1 + k, w2 + k, w3 + k);
      r0 = madd(c, v, r0);
      c = gather4(w4 + k, w5 + k, w6 + k, w7 + k);
      r1 = madd(c, v, r1);
    }
    const yj = y + (<usize>j << 2);
    put(yj, r0, acc);
    put(yj + 16, r1, acc);
  }
  for (; j < N; j++) {
    const wj = w + <usize>j * rk;
    let s0 = f32x4.splat(0), s1 = s0;
    let k: usize = 0;
    for (; k + 32 <= kv; k += 32) { // two accumulators: half the add-latency chain
      s0 = madd(v128.load(wj + k), v128.load(x + k), s0);
      s1 = madd(v128.load(wj + k + 16), v128.load(x + k + 16), s1);
    }
    for (; k < kv; k += 16) s0 = madd(v128.load(wj + k), v128.load(x + k), s0);
    let r = hsum(f32x4.add(s0, s1));
    for (; k < rk; k += 4) r += load<f32>(wj + k) * load<f32>(x + k);
    put1(y + (<usize>j << 2), r, acc);
  }
}

/**
 * C[M,N] (+)= A[M,K]·B[K,N]: outer products straight from both operands. B is read down its columns, one row
 * of it (N floats) apart per k. Below PACK_N columns, 2 rows × 16 columns of C at a time: each k reads one whole
 * cache line of B. From PACK_N columns on, a row of B is ≥ 1 KB, so at most 4 rows share a 4 KB page and the
 * stream of B crosses a page every few k, where no prefetcher follows it: there the 4×8 block (half the passes
 * over B) is the faster of the two unpacked loops, and gemmNNPacked (which packs B) faster still.
 */
export function gemmNN(M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, acc: bool): void {
  const rk = <usize>K << 2, rn = <usize>N << 2;
  if (N >= PACK_N) {
    const M4 = M & ~3;
    outerBlocks(M4 >> 2, N, K, a, rk << 2, rk, 4, b, c, acc);
    for (let i = M4; i < M; i++) outerRow(N, K, a + <usize>i * rk, 4, b, rn, c + <usize>i * rn, acc);
    return;
  }
  const M2 = M & ~1, N16 = N & ~15;
  for (let i = 0; i < M2; i += 2) {
    const a0 = a + <usize>i * rk, c0 = c + <usize>i * rn;
    for (let j = 0; j < N16; j += 16) wideBlock(K, a0, rk, b + (<usize>j << 2), rn, c0 + (<usize>j << 2), rn, acc);
  }
  tails(M, N, K, a, b, c, acc);
}

/** gemmNN's columns past N & ~15 (every row) and a last odd row (every column), one row of C at a time. */
function tails(M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, acc: bool): void {
  const rk = <usize>K << 2, rn = <usize>N << 2;
  const M2 = M & ~1, N16 = N & ~15;
  if (N16 < N) {
    const tail = <usize>N16 << 2;
    for (let i = 0; i < M2; i++) outerRow(N - N16, K, a + <usize>i * rk, 4, b + tail, rn, c + <usize>i * rn + tail, acc);
  }
  if (M2 < M) outerRow(N, K, a + <usize>M2 * rk, 4, b, rn, c + <usize>M2 * rn, acc);
}

/** Columns of B from which gemmNN's rows of B are ≥ 1 KB apart and gemmNNPacked packs. */
const PACK_N = 256;

/** Rows of B per packed slab of gemmNNPacked. */
const KCN = 256;

/**
 * gemmNN with B packed: K is cut into slabs of KCN rows, and each slab's first N16 = N & ~15 columns are copied
 * into panels of 16 columns (kc rows × 64 contiguous bytes) in scratch, which the 2×16 blocks then stream with
 * unit stride, no page crossings between rows. Columns past N16 and a last odd row run unpacked (outerRow).
 * Narrower B (N < PACK_N) goes to gemmNN: the copy would cost more than it saves. B config, N = 256:
 * 32×256×1024 48 → 52 GFLOP/s, 2048×256×1024 47 → 54. scratch holds KCN·N floats (gemmNNScratchBytes).
 */
export function gemmNNPacked(M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, acc: bool, scratch: usize): void {
  if (N < PACK_N || K == 0) {
    gemmNN(M, N, K, a, b, c, acc);
    return;
  }
  const rk = <usize>K << 2, rn = <usize>N << 2;
  const M2 = M & ~1, N16 = N & ~15, np = N16 >> 4;
  for (let k0 = 0; k0 < K; k0 += KCN) {
    const kc = min(KCN, K - k0);
    const panel = <usize>kc << 6; // bytes per panel: kc rows × 16 floats
    let src = b + <usize>k0 * rn;
    for (let k = 0; k < kc; k++) {
      let d = scratch + (<usize>k << 6);
      for (let p = 0; p < np; p++) {
        const o = <usize>p << 6;
        v128.store(d, v128.load(src + o));
        v128.store(d, v128.load(src + o, 16), 16);
        v128.store(d, v128.load(src + o, 32), 32);
        v128.store(d, v128.load(src + o, 48), 48);
        d += panel;
      }
      src += rn;
    }
    const accumulate = acc || k0 > 0;
    for (let i = 0; i < M2; i += 2) {
      const a0 = a + <usize>i * rk + (<usize>k0 << 2), c0 = c + <usize>i * rn;
      for (let p = 0; p < np; p++) wideBlock(kc, a0, rk, scratch + <usize>p * panel, 64, c0 + (<usize>p << 6), rn, accumulate);
    }
  }
  tails(M, N, K, a, b, c, acc);
}

/** Bytes of scratch gemmNNPacked needs for an N-column B. */
export function gemmNNScratchBytes(N: i32): usize {
  return <usize>KCN * <usize>N << 2;
}

/**
 * A 2×16 block of C: C[r, j] (+)= Σ_k A[r, k]·B[k, j] for the rows of A at a and a + ra, 16 columns of B from b
 * (rows rb bytes apart), C's rows rc bytes apart. Per k, one whole cache line of B (4 vectors) times 2
 * broadcast entries of A into 8 accumulators.
 */
// @ts-ignore: decorator
@inline function wideBlock(K: i32, a: usize, ra: usize, b: usize, rb: usize, c: usize, rc: usize, acc: bool): void {
  let s00 = f32x4.splat(0), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
  let pa = a, pb = b;
  const end = a + (<usize>K << 2);
  for (; pa < end; pa += 4) {
    const y0 = v128.load(pb), y1 = v128.load(pb, 16), y2 = v128.load(pb, 32), y3 = v128.load(pb, 48);
    let x = v128.load32_splat(pa);
    s00 = madd(x, y0, s00); s01 = madd(x, y1, s01); s02 = madd(x, y2, s02); s03 = madd(x, y3, s03);
    x = v128.load32_splat(pa + ra);
    s10 = madd(x, y0, s10); s11 = madd(x, y1, s11); s12 = madd(x, y2, s12); s13 = madd(x, y3, s13);
    pb += rb;
  }
  put(c, s00, acc); put(c + 16, s01, acc); put(c + 32, s02, acc); put(c + 48, s03, acc);
  const c1 = c + rc;
  put(c1, s10, acc); put(c1 + 16, s11, acc); put(c1 + 32, s12, acc); put(c1 + 48, s13, acc);
}

/** Rows of K (the T·B rows of a weight gradient) per packed panel: A's panel, kc × M floats, stays in L2. */
const KC = 256;

/**
 * C[M,N] (+)= A[K,M]ᵀ·B[K,N], K large (all T·B rows). Read in place, A's columns are M floats apart: for M a
 * multiple of 512 every row of a 4-column strip falls in the same L1 set. So K is cut into slabs of KC rows,
 * and each slab's A is packed into panels of 4 columns (kc × 4 floats, contiguous) in scratch, then multiplied
 * as outer products. scratch holds KC·M floats.
 */
export function gemmTN(M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, acc: bool, scratch: usize): void {
  const rm = <usize>M << 2, rn = <usize>N << 2;
  const M4 = M & ~3;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const slab = a + <usize>k0 * rm, bs = b + <usize>k0 * rn;
    const panel = <usize>kc << 4; // bytes per panel: kc rows × 4 floats
    pack(M4 >> 2, kc, slab, rm, scratch, panel);
    const accumulate = acc || k0 > 0;
    outerBlocks(M4 >> 2, N, kc, scratch, panel, 4, 16, bs, c, accumulate);
    for (let i = M4; i < M; i++) outerRow(N, kc, slab + (<usize>i << 2), rm, bs, rn, c + <usize>i * rn, accumulate);
  }
}

/**
 * Copies np 4-column panels of a (kc, ·) slab with rows rm bytes apart into panel-major scratch: panel p holds
 * rows 0…kc−1 of columns 4p…4p+3, 16 bytes per row. Four panels at a time, so each row's 64 bytes (one cache
 * line) are read once and go to four sequential streams.
 */
function pack(np: i32, kc: i32, slab: usize, rm: usize, dst: usize, panel: usize): void {
  let p = 0;
  for (; p + 4 <= np; p += 4) {
    const d = dst + <usize>p * panel;
    let src = slab + (<usize>p << 4);
    for (let k = 0; k < kc; k++) {
      const o = <usize>k << 4;
      v128.store(d + o, v128.load(src));
      v128.store(d + panel + o, v128.load(src, 16));
      v128.store(d + 2 * panel + o, v128.load(src, 32));
      v128.store(d + 3 * panel + o, v128.load(src, 48));
      src += rm;
    }
  }
  for (; p < np; p++) {
    const d = dst + <usize>p * panel;
    let src = slab + (<usize>p << 4);
    for (let k = 0; k < kc; k++) {
      v128.store(d + (<usize>k << 4), v128.load(src));
      src += rm;
    }
  }
}

/**
 * nb blocks of 4 rows of C (N, K): C[4q+r, j] (+)= Σ_k a(4q+r, k)·B[k, j], with a(4q+r, k) at
 * a + q·ab + r·ai + k·ak bytes and B (K, N) row-major. Per k, 4 broadcast entries of A times 2 vectors of a row
 * of B update a 4×8 block of C held in 8 accumulators (11 vector registers with the operands).
 */
function outerBlocks(nb: i32, N: i32, K: i32, a: usize, ab: usize, ai: usize, ak: usize, b: usize, c: usize, acc: bool): void {
  const rn = <usize>N << 2;
  const ai2 = ai + ai, ai3 = ai2 + ai;
  for (let q = 0; q < nb; q++) {
    const ar = a + <usize>q * ab;
    const c0 = c + <usize>(q << 2) * rn, c1 = c0 + rn, c2 = c1 + rn, c3 = c2 + rn;
    let j = 0;
    for (; j + 8 <= N; j += 8) {
      let s00 = f32x4.splat(0), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
      let pa = ar, pb = b + (<usize>j << 2);
      for (let k = 0; k < K; k++) {
        const y0 = v128.load(pb), y1 = v128.load(pb, 16);
        let x = v128.load32_splat(pa);
        s00 = madd(x, y0, s00); s01 = madd(x, y1, s01);
        x = v128.load32_splat(pa + ai);
        s10 = madd(x, y0, s10); s11 = madd(x, y1, s11);
        x = v128.load32_splat(pa + ai2);
        s20 = madd(x, y0, s20); s21 = madd(x, y1, s21);
        x = v128.load32_splat(pa + ai3);
        s30 = madd(x, y0, s30); s31 = madd(x, y1, s31);
        pa += ak;
        pb += rn;
      }
      const cj = <usize>j << 2;
      put(c0 + cj, s00, acc); put(c0 + cj + 16, s01, acc);
      put(c1 + cj, s10, acc); put(c1 + cj + 16, s11, acc);
      put(c2 + cj, s20, acc); put(c2 + cj + 16, s21, acc);
      put(c3 + cj, s30, acc); put(c3 + cj + 16, s31, acc);
    }
    for (; j + 4 <= N; j += 4) {
      let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
      let pa = ar, pb = b + (<usize>j << 2);
      for (let k = 0; k < K; k++) {
        const y = v128.load(pb);
        s0 = madd(v128.load32_splat(pa), y, s0);
        s1 = madd(v128.load32_splat(pa + ai), y, s1);
        s2 = madd(v128.load32_splat(pa + ai2), y, s2);
        s3 = madd(v128.load32_splat(pa + ai3), y, s3);
        pa += ak;
        pb += rn;
      }
      const cj = <usize>j << 2;
      put(c0 + cj, s0, acc); put(c1 + cj, s1, acc); put(c2 + cj, s2, acc); put(c3 + cj, s3, acc);
    }
    for (; j < N; j++) { // the last N mod 4 columns: the block's 4 rows in the lanes of one vector
      let s = f32x4.splat(0);
      let pa = ar, pb = b + (<usize>j << 2);
      for (let k = 0; k < K; k++) {
        const x = gather4(pa, pa + ai, pa + ai2, pa + ai3);
        s = madd(x, v128.load32_splat(pb), s);
        pa += ak;
        pb += rn;
      }
      const cj = <usize>j << 2;
      put1(c0 + cj, f32x4.extract_lane(s, 0), acc);
      put1(c1 + cj, f32x4.extract_lane(s, 1), acc);
      put1(c2 + cj, f32x4.extract_lane(s, 2), acc);
      put1(c3 + cj, f32x4.extract_lane(s, 3), acc);
    }
  }
}

/**
 * One row of C (N): C[j] (+)= Σ_k a(k)·B[k, j], a(k) at a + k·ak bytes, B's rows rn bytes apart: the rows and
 * columns left over by the blocked loops. 32 columns at a time: per k one broadcast and 8 vectors of a row of B into
 * 8 accumulators, the most the registers hold.
 */
function outerRow(N: i32, K: i32, a: usize, ak: usize, b: usize, rn: usize, c: usize, acc: bool): void {
  let j = 0;
  for (; j + 32 <= N; j += 32) {
    let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    let pa = a, pb = b + (<usize>j << 2);
    for (let k = 0; k < K; k++) {
      const x = v128.load32_splat(pa);
      s0 = madd(x, v128.load(pb), s0);
      s1 = madd(x, v128.load(pb, 16), s1);
      s2 = madd(x, v128.load(pb, 32), s2);
      s3 = madd(x, v128.load(pb, 48), s3);
      s4 = madd(x, v128.load(pb, 64), s4);
      s5 = madd(x, v128.load(pb, 80), s5);
      s6 = madd(x, v128.load(pb, 96), s6);
      s7 = madd(x, v128.load(pb, 112), s7);
      pa += ak;
      pb += rn;
    }
    const cj = c + (<usize>j << 2);
    put(cj, s0, acc); put(cj + 16, s1, acc); put(cj + 32, s2, acc); put(cj + 48, s3, acc);
    put(cj + 64, s4, acc); put(cj + 80, s5, acc); put(cj + 96, s6, acc); put(cj + 112, s7, acc);
  }
  for (; j + 8 <= N; j += 8) {
    let s0 = f32x4.splat(0), s1 = s0;
    let pa = a, pb = b + (<usize>j << 2);
    for (let k = 0; k < K; k++) {
      const x = v128.load32_splat(pa);
      s0 = madd(x, v128.load(pb), s0);
      s1 = madd(x, v128.load(pb, 16), s1);
      pa += ak;
      pb += rn;
    }
    const cj = <usize>j << 2;
    put(c + cj, s0, acc); put(c + cj + 16, s1, acc);
  }
  for (; j + 4 <= N; j += 4) {
    let s = f32x4.splat(0);
    let pa = a, pb = b + (<usize>j << 2);
    for (let k = 0; k < K; k++) {
      s = madd(v128.load32_splat(pa), v128.load(pb), s);
      pa += ak;
      pb += rn;
    }
    put(c + (<usize>j << 2), s, acc);
  }
  for (; j < N; j++) {
    let s: f32 = 0;
    let pa = a, pb = b + (<usize>j << 2);
    for (let k = 0; k < K; k++) {
      s += load<f32>(pa) * load<f32>(pb);
      pa += ak;
      pb += rn;
    }
    put1(c + (<usize>j << 2), s, acc);
  }
}

/** Bytes of scratch gemmTN needs for an M-column A: one slab of packed panels. */
export function gemmTNScratchBytes(M: i32): usize {
  return <usize>KC * <usize>M << 2;
}
