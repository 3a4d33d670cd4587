/**
 * The optimiser's passes over the flat parameter vector (P floats at byte addresses): the squared gradient norm
 * for clipping, the clipping scale, and the Adam step. They compute in float64 as the TypeScript reference does
 * (JsKernels: sumSquares, scale, adamUpdate), two lanes at a time, so scale and adamUpdate give the reference's
 * numbers bit for bit; sumSquares adds in another order (four float64 partial sums), a difference of ~1e−16.
 */

/** Lanes 0, 1 (lo) or 2, 3 (hi) of a float32 vector, in float64. */
// @ts-ignore: decorator
@inline function lo(x: v128): v128 {
  return f64x2.promote_low_f32x4(x);
}
// @ts-ignore: decorator
@inline function hi(x: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3));
}
/** Two float64 pairs rounded back into one float32 vector: [a0, a1, b0, b1]. */
// @ts-ignore: decorator
@inline function pack(a: v128, b: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 1, 4, 5);
}

/** Σ a[k]² over n floats, in float64 (each square is exact in float64). */
export function sumSquares(n: i32, a: usize): f64 {
  let s0 = f64x2.splat(0), s1 = s0;
  const n4 = <usize>(n & ~3) << 2, end = <usize>n << 2;
  let k: usize = 0;
  for (; k < n4; k += 16) {
    const x = v128.load(a + k);
    const x0 = lo(x), x1 = hi(x);
    s0 = f64x2.add(s0, f64x2.mul(x0, x0));
    s1 = f64x2.add(s1, f64x2.mul(x1, x1));
  }
  const s = f64x2.add(s0, s1);
  let sq = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; k < end; k += 4) {
    const x = <f64>load<f32>(a + k);
    sq += x * x;
  }
  return sq;
}

/** a[k] ← a[k]·s over n floats, the product in float64. */
export function scale(n: i32, a: usize, s: f64): void {
  const sv = f64x2.splat(s);
  const n4 = <usize>(n & ~3) << 2, end = <usize>n << 2;
  let k: usize = 0;
  for (; k < n4; k += 16) {
    const x = v128.load(a + k);
    v128.store(a + k, pack(f64x2.mul(lo(x), sv), f64x2.mul(hi(x), sv)));
  }
  for (; k < end; k += 4) store<f32>(a + k, <f32>(<f64>load<f32>(a + k) * s));
}

/**
 * One Adam step (Kingma & Ba, Algorithm 1, as torch.optim.Adam), over n parameters θ with gradient g and
 * moments m, v:  m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g·g,  θ ← θ − stepSize·m / (√v / bc2Sqrt + ε),
 * stepSize = lr / (1 − β1^t), bc2Sqrt = √(1 − β2^t). Float64 throughout, in the reference's order of operations.
 */
export function adamUpdate(n: i32, params: usize, grads: usize, m: usize, v: usize,
  stepSize: f64, bc2Sqrt: f64, beta1: f64, beta2: f64, eps: f64): void {
  const b1 = f64x2.splat(beta1), c1 = f64x2.splat(1 - beta1);
  const b2 = f64x2.splat(beta2), c2 = f64x2.splat(1 - beta2);
  const lr = f64x2.splat(stepSize), bc = f64x2.splat(bc2Sqrt), ep = f64x2.splat(eps);
  const n4 = <usize>(n & ~3) << 2, end = <usize>n << 2;
  let k: usize = 0;
  for (; k < n4; k += 16) {
    const g = v128.load(grads + k), mv = v128.load(m + k), vv = v128.load(v + k), p = v128.load(params + k);
    // lanes 0, 1
    const g0 = lo(g);
    const m0 = f64x2.add(f64x2.mul(b1, lo(mv)), f64x2.mul(c1, g0));
    const v0 = f64x2.add(f64x2.mul(b2, lo(vv)), f64x2.mul(f64x2.mul(c2, g0), g0));
    const p0 = f64x2.sub(lo(p), f64x2.div(f64x2.mul(lr, m0), f64x2.add(f64x2.div(f64x2.sqrt(v0), bc), ep)));
    // lanes 2, 3
    const g1 = hi(g);
    const m1 = f64x2.add(f64x2.mul(b1, hi(mv)), f64x2.mul(c1, g1));
    const v1 = f64x2.add(f64x2.mul(b2, hi(vv)), f64x2.mul(f64x2.mul(c2, g1), g1));
    const p1 = f64x2.sub(hi(p), f64x2.div(f64x2.mul(lr, m1), f64x2.add(f64x2.div(f64x2.sqrt(v1), bc), ep)));
    v128.store(m + k, pack(m0, m1));
    v128.store(v + k, pack(v0, v1));
    v128.store(params + k, pack(p0, p1));
  }
  for (; k < end; k += 4) {
    const g = <f64>load<f32>(grads + k);
    const mi = beta1 * <f64>load<f32>(m + k) + (1 - beta1) * g;
    const vi = beta2 * <f64>load<f32>(v + k) + (1 - beta2) * g * g;
    store<f32>(m + k, <f32>mi);
    store<f32>(v + k, <f32>vi);
    store<f32>(params + k, <f32>(<f64>load<f32>(params + k) - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps)));
  }
}
