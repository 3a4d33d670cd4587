import { hsum4, hsum64, laneMask, madd, sigmoid4, storeN, tanh4 } from './simd';

/**
 * One batch-1 LSTM timestep for a range of units [j0, j1), its recurrent product fused in: the unit of work of
 * a trace whose recurrence runs on two threads, each owning half the units (parallel/recurrence.ts). Unit j's
 * four gates are rows j, H + j, 2H + j, 3H + j of W_hh (PyTorch's gate order i, f, g, o). Units go 4 at a time
 * from j0: their 16 gate rows as two 8-row dot-product blocks against h_{t-1}, straight into the cell, so the
 * products never touch memory. Each unit is computed by the same code on the same inputs whichever thread
 * runs its range and however the ranges are cut (at multiples of 4), so a trace is bit-identical on one thread
 * and two. Outputs go only to timestep t's own slots: running a range twice writes the same bits.
 * Pointers are byte addresses; per-step vectors are (H) or (4H) floats.
 */

/** The two results of dot8: rows 0–3 and rows 4–7 (wasm globals: per thread, not in the shared memory). */
let lo: v128 = f32x4.splat(0);
let hi: v128 = f32x4.splat(0);

/**
 * lo ← [r0·x, r1·x, r2·x, r3·x], hi ← [r4·x … r7·x]: eight K-float rows against one vector, eight accumulators
 * of 4 partial sums each (the latency of the adds hidden), then the horizontal sums; the last K mod 4 terms
 * one column of 4 entries at a time. Summation order as gemm.ts's gemv.
 */
// @ts-ignore: decorator
@inline function dot8(K: i32, x: usize, r0: usize, r1: usize, r2: usize, r3: usize, r4: usize, r5: usize, r6: usize, r7: usize): void {
  const rk = <usize>K << 2, kv = <usize>(K & ~3) << 2;
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  for (let k: usize = 0; k < kv; k += 16) {
    const v = v128.load(x + k);
    s0 = madd(v128.load(r0 + k), v, s0);
    s1 = madd(v128.load(r1 + k), v, s1);
    s2 = madd(v128.load(r2 + k), v, s2);
    s3 = madd(v128.load(r3 + k), v, s3);
    s4 = madd(v128.load(r4 + k), v, s4);
    s5 = madd(v128.load(r5 + k), v, s5);
    s6 = madd(v128.load(r6 + k), v, s6);
    s7 = madd(v128.load(r7 + k), v, s7);
  }
  let a = hsum4(s0, s1, s2, s3), b = hsum4(s4, s5, s6, s7);
  for (let k = kv; k < rk; k += 4) {
    const v = v128.load32_splat(x + k);
    let c = f32x4.splat(load<f32>(r0 + k));
    c = f32x4.replace_lane(c, 1, load<f32>(r1 + k));
    c = f32x4.replace_lane(c, 2, load<f32>(r2 + k));
    c = f32x4.replace_lane(c, 3, load<f32>(r3 + k));
    a = madd(c, v, a);
    c = f32x4.splat(load<f32>(r4 + k));
    c = f32x4.replace_lane(c, 1, load<f32>(r5 + k));
    c = f32x4.replace_lane(c, 2, load<f32>(r6 + k));
    c = f32x4.replace_lane(c, 3, load<f32>(r7 + k));
    b = madd(c, v, b);
  }
  lo = a;
  hi = b;
}

/**
 * Row r of a (·, K) matrix at m, or its last row when r is past the end: the rows of a partial block of units
 * (fewer than 4 left before j1) are computed but not stored, and must not be read out of bounds.
 */
// @ts-ignore: decorator
@inline function rowAt(m: usize, r: i32, last: i32, rk: usize): usize {
  return m + <usize>min(r, last) * rk;
}

/**
 * Forward of units [j0, j1) at one timestep: a = xp + (W_hh·h_{t-1} + b_hh) for their 4 gates, then
 * act ← i, f, g, o; c ← f⊙c_{t-1} + i⊙g; tc ← tanh(c); h ← o⊙tc — lstmForward's (cells.ts) equations and rounding,
 * the bias added as addBias adds it. whh (4H, H); hPrev, cPrev, c, tc, h (H); xp, act (4H).
 */
export function lstmForwardUnits(H: i32, j0: i32, j1: i32, hPrev: usize, whh: usize, bhh: usize, xp: usize,
  cPrev: usize, act: usize, c: usize, tc: usize, h: usize): void {
  const gate = <usize>H << 2, rk = gate; // bytes per gate block of a (4H) vector; bytes per row of W_hh
  for (let j = j0; j < j1; j += 4) {
    const cnt = min(4, j1 - j), o4 = <usize>j << 2;
    const e = j + cnt - 1; // the block's last real unit: rows past it repeat it
    dot8(H, hPrev,
      rowAt(whh, j, e, rk), rowAt(whh, j + 1, e, rk), rowAt(whh, j + 2, e, rk), rowAt(whh, j + 3, e, rk),
      rowAt(whh, H + j, H + e, rk), rowAt(whh, H + j + 1, H + e, rk), rowAt(whh, H + j + 2, H + e, rk), rowAt(whh, H + j + 3, H + e, rk));
    const hpI = lo, hpF = hi;
    dot8(H, hPrev,
      rowAt(whh, 2 * H + j, 2 * H + e, rk), rowAt(whh, 2 * H + j + 1, 2 * H + e, rk), rowAt(whh, 2 * H + j + 2, 2 * H + e, rk), rowAt(whh, 2 * H + j + 3, 2 * H + e, rk),
      rowAt(whh, 3 * H + j, 3 * H + e, rk), rowAt(whh, 3 * H + j + 1, 3 * H + e, rk), rowAt(whh, 3 * H + j + 2, 3 * H + e, rk), rowAt(whh, 3 * H + j + 3, 3 * H + e, rk));
    const hpG = lo, hpO = hi;
    const i = sigmoid4(f32x4.add(v128.load(xp + o4), f32x4.add(hpI, v128.load(bhh + o4))));
    const f = sigmoid4(f32x4.add(v128.load(xp + gate + o4), f32x4.add(hpF, v128.load(bhh + gate + o4))));
    const g = tanh4(f32x4.add(v128.load(xp + 2 * gate + o4), f32x4.add(hpG, v128.load(bhh + 2 * gate + o4))));
    const o = sigmoid4(f32x4.add(v128.load(xp + 3 * gate + o4), f32x4.add(hpO, v128.load(bhh + 3 * gate + o4))));
    const ct = f32x4.add(f32x4.mul(f, v128.load(cPrev + o4)), f32x4.mul(i, g));
    const t = tanh4(ct);
    storeN(act + o4, i, cnt); storeN(act + gate + o4, f, cnt); storeN(act + 2 * gate + o4, g, cnt); storeN(act + 3 * gate + o4, o, cnt);
    storeN(c + o4, ct, cnt);
    storeN(tc + o4, t, cnt);
    storeN(h + o4, f32x4.mul(o, t), cnt);
  }
}

/**
 * Backward of units [j0, j1) at one timestep t:
 *   dhRec_j = Σ_r W_hh[r, j]·da_{t+1}[r] over all 4H rows (0 at the last step: hasNext false) — the gradient
 *   reaching h_t through the recurrence, from rows j of W_hhᵀ (H, 4H);
 *   dh = dhOut_j + dhRec_j, the total ∂L/∂h_t (added as addNorm adds them);
 *   then lstmBackward's equations: dcIn = ∂L/∂c_t through c_{t+1}; da_t (4H) ← ∂L/∂a_t for these units' entries;
 *   dcOut ← ∂L/∂c_{t-1} through this step.
 * sq[0] ← Σ dh², sq[1] ← Σ dc_t² over the units (float64 sums of float32 squares, as addNorm and lstmBackward).
 * Units go 8 at a time (8 rows of W_hhᵀ per dot8).
 */
export function lstmBackwardUnits(H: i32, j0: i32, j1: i32, daNext: usize, hasNext: bool, whhT: usize,
  dhOut: usize, act: usize, cPrev: usize, tc: usize, dcIn: usize, dcOut: usize, da: usize, sq: usize): void {
  const gate = <usize>H << 2, rk = gate << 2; // bytes per gate block; bytes per row of W_hhᵀ (4H floats)
  const one = f32x4.splat(1);
  let sqH: f64 = 0, sqC: f64 = 0;
  for (let j8 = j0; j8 < j1; j8 += 8) {
    const e = min(j8 + 8, j1) - 1;
    let recLo = f32x4.splat(0), recHi = recLo;
    if (hasNext) {
      dot8(4 * H, daNext,
        rowAt(whhT, j8, e, rk), rowAt(whhT, j8 + 1, e, rk), rowAt(whhT, j8 + 2, e, rk), rowAt(whhT, j8 + 3, e, rk),
        rowAt(whhT, j8 + 4, e, rk), rowAt(whhT, j8 + 5, e, rk), rowAt(whhT, j8 + 6, e, rk), rowAt(whhT, j8 + 7, e, rk));
      recLo = lo;
      recHi = hi;
    }
    for (let q = 0; q < 2; q++) {
      const j = j8 + 4 * q;
      if (j >= j1) break;
      const cnt = min(4, j1 - j), o4 = <usize>j << 2;
      const mask = laneMask(cnt);
      const dh = f32x4.add(v128.load(dhOut + o4), q === 0 ? recLo : recHi);
      const vh = v128.and(dh, mask);
      sqH += hsum64(f32x4.mul(vh, vh));
      const i = v128.load(act + o4), f = v128.load(act + gate + o4), g = v128.load(act + 2 * gate + o4), o = v128.load(act + 3 * gate + o4);
      const t = v128.load(tc + o4);
      // backprop through h = o⊙tanh(c), plus the carried path
      const dct = f32x4.add(v128.load(dcIn + o4), f32x4.mul(f32x4.mul(dh, o), f32x4.sub(one, f32x4.mul(t, t))));
      const vc = v128.and(dct, mask);
      sqC += hsum64(f32x4.mul(vc, vc));
      storeN(da + o4, f32x4.mul(f32x4.mul(f32x4.mul(dct, g), i), f32x4.sub(one, i)), cnt);                                  // di, through σ
      storeN(da + gate + o4, f32x4.mul(f32x4.mul(f32x4.mul(dct, v128.load(cPrev + o4)), f), f32x4.sub(one, f)), cnt);      // df, through σ
      storeN(da + 2 * gate + o4, f32x4.mul(f32x4.mul(dct, i), f32x4.sub(one, f32x4.mul(g, g))), cnt);                      // dg, through tanh
      storeN(da + 3 * gate + o4, f32x4.mul(f32x4.mul(f32x4.mul(dh, t), o), f32x4.sub(one, o)), cnt);                       // do, through σ
      storeN(dcOut + o4, f32x4.mul(dct, f), cnt);                                                                         // to c_{t-1}
    }
  }
  store<f64>(sq, sqH);
  store<f64>(sq, sqC, 8);
}
