import { exp4, hsum64, laneMask, storeN } from './simd';

/**
 * Row-wise helpers of the unrolled network, on (rows, n) row-major float32 blocks at byte addresses. Each
 * matches a loop of src/engine/unroll.ts; rows of any n read whole vectors and write only their own lanes.
 */

/** dst[r, j] += bias[j]: the bias of a projection, broadcast over rows. */
export function addBias(rows: i32, n: i32, dst: usize, bias: usize): void {
  const rn = <usize>n << 2;
  const nv = <usize>(n & ~3) << 2; // bytes in whole vectors
  for (let r = 0; r < rows; r++) {
    const d = dst + <usize>r * rn;
    for (let o: usize = 0; o < nv; o += 16) v128.store(d + o, f32x4.add(v128.load(d + o), v128.load(bias + o)));
    if (nv < rn) storeN(d + nv, f32x4.add(v128.load(d + nv), v128.load(bias + nv)), n & 3);
  }
}

/**
 * dst[j] += Σ_r src[r, j], adding the rows in order into dst's own value: the same float32 roundings as the
 * reference's row-by-row loop, so the bias gradients agree bit for bit. Row by row, as the reference: src
 * streams once with unit stride while dst (n floats) stays in L1; walking down 16-column strips instead reads
 * 64 bytes per 4 KB row (n = 1024) and ran at a third of the speed.
 */
export function addColumnSums(rows: i32, n: i32, src: usize, dst: usize): void {
  const rn = <usize>n << 2;
  const nv = <usize>(n & ~3) << 2;
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>r * rn;
    let o: usize = 0;
    for (; o + 64 <= nv; o += 64) {
      const d = dst + o, p = s + o;
      const s0 = f32x4.add(v128.load(d), v128.load(p)), s1 = f32x4.add(v128.load(d, 16), v128.load(p, 16));
      const s2 = f32x4.add(v128.load(d, 32), v128.load(p, 32)), s3 = f32x4.add(v128.load(d, 48), v128.load(p, 48));
      v128.store(d, s0); v128.store(d, s1, 16); v128.store(d, s2, 32); v128.store(d, s3, 48);
    }
    for (; o < nv; o += 16) v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(s + o)));
    if (nv < rn) storeN(dst + nv, f32x4.add(v128.load(dst + nv), v128.load(s + nv)), n & 3);
  }
}

/** dst[r, :] = table[ids[r], :]: the first layer's input projections looked up by token. ids: i32 (rows). */
export function gatherRows(rows: i32, n: i32, ids: usize, table: usize, dst: usize): void {
  const rn = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    memory.copy(dst + <usize>r * rn, table + <usize>load<i32>(ids + (<usize>r << 2)) * rn, rn);
  }
}

/** dst[ids[r], :] += src[r, :]: the gradient of a lookup, summed per token in row order. */
export function scatterAddRows(rows: i32, n: i32, ids: usize, src: usize, dst: usize): void {
  const rn = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    const d = dst + <usize>load<i32>(ids + (<usize>r << 2)) * rn, s = src + <usize>r * rn;
    for (let j = 0; j < n; j += 4) {
      const o4 = <usize>j << 2;
      storeN(d + o4, f32x4.add(v128.load(d + o4), v128.load(s + o4)), min(4, n - j));
    }
  }
}

/** dst (n) ← a + b; returns Σ dst² in float64 (the total ∂L/∂h_t and its squared norm). */
export function addNorm(n: i32, a: usize, b: usize, dst: usize): f64 {
  let sq: f64 = 0;
  for (let k = 0; k < n; k += 4) {
    const o4 = <usize>k << 2, cnt = min(4, n - k);
    const d = f32x4.add(v128.load(a + o4), v128.load(b + o4));
    storeN(dst + o4, d, cnt);
    const valid = v128.and(d, laneMask(cnt));
    sq += hsum64(f32x4.mul(valid, valid));
  }
  return sq;
}

/**
 * Softmax cross-entropy forward, row by row in place: logits (rows, V) ← softmax(logits + bias). Returns
 * Σ −log p_target over the rows whose target (i32, rows) is ≥ 0, in float64: log z − (l_target − max), exact
 * even where p_target underflows.
 */
export function softmaxXent(rows: i32, V: i32, logits: usize, bias: usize, targets: usize): f64 {
  const rv = <usize>V << 2;
  let loss: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const o = logits + <usize>r * rv;
    let mx = f32x4.splat(-Infinity);
    for (let v = 0; v < V; v += 4) {
      const o4 = <usize>v << 2, cnt = min(4, V - v);
      const l = f32x4.add(v128.load(o + o4), v128.load(bias + o4));
      storeN(o + o4, l, cnt);
      mx = f32x4.pmax(mx, v128.bitselect(l, f32x4.splat(-Infinity), laneMask(cnt)));
    }
    mx = f32x4.pmax(mx, v128.shuffle<f32>(mx, mx, 2, 3, 0, 1));
    const m = max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1));
    const ms = f32x4.splat(m);
    const target = load<i32>(targets + (<usize>r << 2));
    const lt: f64 = target >= 0 ? <f64>load<f32>(o + (<usize>target << 2)) : 0;
    let z: f64 = 0;
    for (let v = 0; v < V; v += 4) {
      const o4 = <usize>v << 2, cnt = min(4, V - v);
      const e = exp4(f32x4.sub(v128.load(o + o4), ms));
      storeN(o + o4, e, cnt);
      z += hsum64(v128.and(e, laneMask(cnt)));
    }
    if (target >= 0) loss += Math.log(z) - (lt - <f64>m);
    const inv = f32x4.splat(<f32>(1 / z));
    for (let v = 0; v < V; v += 4) {
      const o4 = <usize>v << 2;
      storeN(o + o4, f32x4.mul(v128.load(o + o4), inv), min(4, V - v));
    }
  }
  return loss;
}

/** ∂L/∂logits (rows, V) = (p − onehot(target))·scale on rows with a target (i32 ≥ 0), 0 on the others. */
export function softmaxXentBackward(rows: i32, V: i32, probs: usize, targets: usize, scale: f32, dlogits: usize): void {
  const rv = <usize>V << 2;
  const sc = f32x4.splat(scale), zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const p = probs + <usize>r * rv, d = dlogits + <usize>r * rv;
    const target = load<i32>(targets + (<usize>r << 2));
    for (let v = 0; v < V; v += 4) {
      const o4 = <usize>v << 2;
      storeN(d + o4, target >= 0 ? f32x4.mul(v128.load(p + o4), sc) : zero, min(4, V - v));
    }
    if (target >= 0) store<f32>(d + (<usize>target << 2), load<f32>(d + (<usize>target << 2)) - scale);
  }
}
