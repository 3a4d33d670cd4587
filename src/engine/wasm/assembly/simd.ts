/**
 * Vector helpers shared by the kernels: fused or unfused multiply-add, horizontal sums, partial stores, and
 * float32 exp, sigmoid and tanh on four lanes at once.
 */

/**
 * a·b + c, fused on hosts with relaxed SIMD (one rounding), else a multiply and an add (two roundings). The
 * products' inner loops and the Horner steps of the polynomials below use it; the variants differ only there.
 */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** [Σ s0, Σ s1, Σ s2, Σ s3]: the four horizontal sums as one vector, by two rounds of pairwise interleaving. */
// @ts-ignore: decorator
@inline export function hsum4(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const u01 = f32x4.add(v128.shuffle<f32>(s0, s1, 0, 4, 1, 5), v128.shuffle<f32>(s0, s1, 2, 6, 3, 7));
  const u23 = f32x4.add(v128.shuffle<f32>(s2, s3, 0, 4, 1, 5), v128.shuffle<f32>(s2, s3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(u01, u23, 0, 1, 4, 5), v128.shuffle<f32>(u01, u23, 2, 3, 6, 7));
}

/** Σ of the four lanes, in the same order as one lane of hsum4. */
// @ts-ignore: decorator
@inline export function hsum(s: v128): f32 {
  const t = f32x4.add(s, v128.shuffle<f32>(s, s, 2, 3, 0, 1));
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1);
}

/** Σ of the four lanes in float64, for sums of squares and losses that the reference accumulates in float64. */
// @ts-ignore: decorator
@inline export function hsum64(s: v128): f64 {
  const t = f64x2.add(f64x2.promote_low_f32x4(s), f64x2.promote_low_f32x4(v128.shuffle<f32>(s, s, 2, 3, 0, 1)));
  return f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
}

/**
 * Lanes [0, n) all ones, the rest zero (n from 0 to 4): the valid lanes of the last, partial vector of a row.
 * Loops over rows of any length read whole vectors (up to 3 floats past a row: the heap keeps slack after its
 * last block so this never leaves memory) and write only the valid lanes.
 */
// @ts-ignore: decorator
@inline export function laneMask(n: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(n));
}

/** Stores lanes [0, n) of v at p; n from 1 to 4. */
// @ts-ignore: decorator
@inline export function storeN(p: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(p, v);
  } else {
    v128.store32_lane(p, v, 0);
    if (n > 1) v128.store32_lane(p, v, 1, 4);
    if (n > 2) v128.store32_lane(p, v, 2, 8);
  }
}

/**
 * e^x, float32, relative error ~1e−7 (Cephes expf): x = n·ln2 + r with |r| ≤ ln2/2, e^r = 1 + r + r²·p(r) with p
 * of degree 5, and 2ⁿ put into the exponent field. Adding the magic number 1.5·2²³ + 127 rounds x·log2(e) to
 * the integer n and leaves n + 127 in the low bits, so one shift makes 2ⁿ: no float→int conversion, which wasm
 * only has in a saturating form that costs x64 half a dozen instructions. x is clamped to [−87.3, 88] so 2ⁿ stays
 * a normal number: below, e^x is 0 to float32 precision anyway (~1e−38), and no caller passes more than 88
 * except sigmoid, where 1/(1 + e^88) is 0 to the same precision. Clamps use pmin/pmax, one instruction each
 * (min/max must order NaNs and signed zeros, which x64 does in several).
 */
// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.0)), f32x4.splat(-87.33654));
  const magic = f32x4.splat(12583039.0); // 0x1.8000FEp23
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), magic);
  const n = f32x4.sub(t, magic);
  // r = x − n·ln2, with ln2 split in two so n·ln2_hi is exact
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  return f32x4.mul(p, i32x4.shl(t, 23)); // 2ⁿ: the exponent field n + 127, zero mantissa
}

/** σ(x) = 1 / (1 + e^−x), relative error a few ulp over the whole range (no cancellation for x ≪ 0). */
// @ts-ignore: decorator
@inline export function sigmoid4(x: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), exp4(f32x4.neg(x))));
}

/**
 * tanh(x) as Eigen's float tanh: a 13/6-degree rational function of x, odd numerator over even denominator,
 * accurate to a couple of ulp on [−9, 9], outside of which tanh is ±1 in float32. No exp, no cancellation at 0.
 */
// @ts-ignore: decorator
@inline export function tanh4(x: v128): v128 {
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(9)), f32x4.splat(-9));
  const x2 = f32x4.mul(x, x);
  let p = f32x4.splat(-2.76076847742355e-16);
  p = madd(p, x2, f32x4.splat(2.00018790482477e-13));
  p = madd(p, x2, f32x4.splat(-8.60467152213735e-11));
  p = madd(p, x2, f32x4.splat(5.12229709037114e-08));
  p = madd(p, x2, f32x4.splat(1.48572235717979e-05));
  p = madd(p, x2, f32x4.splat(6.37261928875436e-04));
  p = madd(p, x2, f32x4.splat(4.89352455891786e-03));
  p = f32x4.mul(p, x);
  let q = f32x4.splat(1.19825839466702e-06);
  q = madd(q, x2, f32x4.splat(1.18534705686654e-04));
  q = madd(q, x2, f32x4.splat(2.26843463243900e-03));
  q = madd(q, x2, f32x4.splat(4.89352518554385e-03));
  return f32x4.div(p, q);
}
