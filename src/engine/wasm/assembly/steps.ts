import { lstmCell4, lstmCellBackward4 } from './cells';
import { hsum4, hsum64, laneMask, madd } from './simd';

/**
 * One batch-1 LSTM timestep for a range of units [j0, j1), its recurrent product fused in: the unit of work of
 * a trace whose recurrence runs on two threads, each owning half the units (parallel/recurrence.ts). Unit j's
 * four gates are rows j, H + j, 2H + j, 3H + j of W_hh (PyTorch's gate order i, f, g, o).
 *
 * The recurrent product is bound by streaming the weights from L2 (a 256-unit layer's half is 512 KB), so the
 * weights are packed first (packForward, packBackward: once per layer and pass) in the order the kernel reads
 * them: each block of 4 rows as one sequential stream, the 4 rows' k-th vectors of 4 side by side, rows and
 * columns past the end zero. A block of rows is one dot4p over one contiguous stream, straight into the cell,
 * so the products never touch memory. (Four rows at a time, not eight: V8 spills two of eight accumulators and
 * their operands to the stack in this loop, and runs four with pairwise products a third faster.) Each unit is
 * computed by the same code on the same inputs whichever thread runs its range and however the ranges are cut
 * (at multiples of 4), so a trace is bit-identical on one thread and two. Outputs go only to timestep t's own slots: running a range twice writes the same bits.
 * Pointers are byte addresses; per-step vectors are (H) or (4H) floats.
 */

/** Floats of K rounded up to whole vectors. */
// @ts-ignore: decorator
@inline function padded(K: i32): i32 {
  return (K + 3) & ~3;
}

/** Floats of packForward's output for H units: ⌈H/4⌉ blocks of 4 units × 4 gates × 4 rows × ⌈H⌉₄. */
export function packedForwardFloats(H: i32): i32 {
  return ((H + 3) >> 2) * 16 * padded(H);
}

/** Floats of packBackward's output for H units: ⌈H/4⌉ blocks of 4 units × 4 rows × 4H. */
export function packedBackwardFloats(H: i32): i32 {
  return ((H + 3) >> 2) * 16 * H;
}

/**
 * W_hh (4H, H) packed for lstmForwardUnits: for each block q of units 4q…4q+3, one 4-row panel per gate (i, f,
 * g, o: rows gate·H + 4q…4q+3), each ⌈H⌉₄/4 groups of 4 vectors, group k holding columns 4k…4k+3 of the 4 rows.
 * Units ≥ H and columns ≥ H are zero.
 */
export function packForward(H: i32, whh: usize, dst: usize): void {
  const Kp = padded(H), rk = <usize>H << 2;
  const blocks = (H + 3) >> 2;
  let d = dst;
  for (let q = 0; q < blocks; q++) {
    for (let gate = 0; gate < 4; gate++) {
      for (let k = 0; k < Kp; k += 4) {
        for (let r = 0; r < 4; r++) {
          const unit = 4 * q + r;
          const src = whh + <usize>(gate * H + unit) * rk + (<usize>k << 2);
          if (unit < H && k + 4 <= H) {
            v128.store(d, v128.load(src)); // 4 columns of one row: contiguous in W_hh
          } else {
            for (let c = 0; c < 4; c++) store<f32>(d + (<usize>c << 2), unit < H && k + c < H ? load<f32>(src + (<usize>c << 2)) : 0);
          }
          d += 16;
        }
      }
    }
  }
}

/**
 * W_hhᵀ packed for lstmBackwardUnits, straight from W_hh (4H, H): for each block of units 4b…4b+3, 4H/4 groups
 * of 4 vectors, group k holding W_hh[4k…4k+3, unit] for the 4 units (rows of W_hhᵀ). Units ≥ H are zero.
 */
export function packBackward(H: i32, whh: usize, dst: usize): void {
  const rk = <usize>H << 2;
  const blocks = (H + 3) >> 2;
  let d = dst;
  for (let b = 0; b < blocks; b++) {
    const u = 4 * b;
    for (let k = 0; k < 4 * H; k += 4) {
      const row = whh + <usize>k * rk; // W_hh rows k…k+3
      if (u + 4 <= H) {
        // W_hh[k…k+3, u…u+3] is a 4×4 tile: transposed, its rows are the 4 units' vectors of this group
        const r0 = v128.load(row + (<usize>u << 2)), r1 = v128.load(row + rk + (<usize>u << 2));
        const r2 = v128.load(row + 2 * rk + (<usize>u << 2)), r3 = v128.load(row + 3 * rk + (<usize>u << 2));
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 16);
        v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 32);
        v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 48);
      } else {
        for (let r = 0; r < 4; r++) {
          for (let c = 0; c < 4; c++) {
            store<f32>(d + (<usize>(4 * r + c) << 2), u + r < H ? load<f32>(row + <usize>c * rk + (<usize>(u + r) << 2)) : 0);
          }
        }
      }
      d += 64;
    }
  }
}

/**
 * [r0·x, r1·x, r2·x, r3·x] for 4 packed rows of K floats at p (one sequential stream of ⌈K⌉₄·4 floats): four
 * accumulators, each taking the sum of two products a trip (the adds' latency hidden without more registers),
 * then the horizontal sums. x's last, partial vector is masked, so what lies past x's K floats never enters a sum.
 */
// @ts-ignore: decorator
@inline function dot4p(K: i32, x: usize, p: usize): v128 {
  const kv = <usize>(K & ~3) << 2, kv2 = <usize>(K & ~7) << 2;
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
  let k: usize = 0;
  for (; k < kv2; k += 32) {
    const v0 = v128.load(x + k), v1 = v128.load(x + k, 16);
    s0 = f32x4.add(s0, f32x4.add(f32x4.mul(v128.load(p), v0), f32x4.mul(v128.load(p, 64), v1)));
    s1 = f32x4.add(s1, f32x4.add(f32x4.mul(v128.load(p, 16), v0), f32x4.mul(v128.load(p, 80), v1)));
    s2 = f32x4.add(s2, f32x4.add(f32x4.mul(v128.load(p, 32), v0), f32x4.mul(v128.load(p, 96), v1)));
    s3 = f32x4.add(s3, f32x4.add(f32x4.mul(v128.load(p, 48), v0), f32x4.mul(v128.load(p, 112), v1)));
    p += 128;
  }
  if (k < kv) {
    const v = v128.load(x + k);
    s0 = madd(v128.load(p), v, s0);
    s1 = madd(v128.load(p, 16), v, s1);
    s2 = madd(v128.load(p, 32), v, s2);
    s3 = madd(v128.load(p, 48), v, s3);
    p += 64;
  }
  if ((K & 3) !== 0) {
    const v = v128.and(v128.load(x + kv), laneMask(K & 3));
    s0 = madd(v128.load(p), v, s0);
    s1 = madd(v128.load(p, 16), v, s1);
    s2 = madd(v128.load(p, 32), v, s2);
    s3 = madd(v128.load(p, 48), v, s3);
  }
  return hsum4(s0, s1, s2, s3);
}

/**
 * Forward of units [j0, j1) at one timestep: a = xp + (W_hh·h_{t-1} + b_hh) for their 4 gates, then
 * act ← i, f, g, o; c ← f⊙c_{t-1} + i⊙g; tc ← tanh(c); h ← o⊙tc — lstmForward's (cells.ts) equations and rounding,
 * the bias added as addBias adds it. packed: W_hh as packForward lays it out; hPrev, cPrev, c, tc, h (H); xp (4H);
 * act: the i, f, g, o blocks of H floats, actGate bytes apart (the trace keeps each gate's (T, H) contiguous).
 */
export function lstmForwardUnits(H: i32, j0: i32, j1: i32, hPrev: usize, packed: usize, bhh: usize, xp: usize,
  cPrev: usize, act: usize, actGate: usize, c: usize, tc: usize, h: usize): void {
  const gate = <usize>H << 2; // bytes per gate block of a (4H) vector
  const panel = <usize>padded(H) << 4; // bytes of one gate's 4-row panel
  for (let j = j0; j < j1; j += 4) {
    const cnt = min(4, j1 - j), o4 = <usize>j << 2;
    const pb = packed + <usize>(j >> 2) * (panel << 2);
    const hpI = dot4p(H, hPrev, pb);
    const hpF = dot4p(H, hPrev, pb + panel);
    const hpG = dot4p(H, hPrev, pb + 2 * panel);
    const hpO = dot4p(H, hPrev, pb + 3 * panel);
    lstmCell4(
      f32x4.add(v128.load(xp + o4), f32x4.add(hpI, v128.load(bhh + o4))),
      f32x4.add(v128.load(xp + gate + o4), f32x4.add(hpF, v128.load(bhh + gate + o4))),
      f32x4.add(v128.load(xp + 2 * gate + o4), f32x4.add(hpG, v128.load(bhh + 2 * gate + o4))),
      f32x4.add(v128.load(xp + 3 * gate + o4), f32x4.add(hpO, v128.load(bhh + 3 * gate + o4))),
      v128.load(cPrev + o4), act + o4, actGate, c + o4, tc + o4, h + o4, cnt);
  }
}

/**
 * Backward of units [j0, j1) at one timestep t:
 *   dhRec_j = Σ_r W_hh[r, j]·da_{t+1}[r] over all 4H rows (0 at the last step: hasNext false) — the gradient
 *   reaching h_t through the recurrence, from rows j of W_hhᵀ (H, 4H) as packBackward lays them out (packedT);
 *   dh = dhOut_j + dhRec_j, the total ∂L/∂h_t (added as addNorm adds them);
 *   then lstmBackward's equations: dcIn = ∂L/∂c_t through c_{t+1}; da_t (4H) ← ∂L/∂a_t for these units' entries;
 *   dcOut ← ∂L/∂c_{t-1} through this step.
 * sq[0] ← Σ dh², sq[1] ← Σ dc_t² over the units (float64 sums of float32 squares, as addNorm and lstmBackward).
 * Units go 4 at a time (4 rows of W_hhᵀ per dot4p).
 */
export function lstmBackwardUnits(H: i32, j0: i32, j1: i32, daNext: usize, hasNext: bool, packedT: usize,
  dhOut: usize, act: usize, actGate: usize, cPrev: usize, tc: usize, dcIn: usize, dcOut: usize, da: usize, sq: usize): void {
  const gate = <usize>H << 2; // bytes per gate block
  const block = <usize>H << 6; // bytes of one block of 4 packed rows of 4H floats
  let sqH: f64 = 0, sqC: f64 = 0;
  for (let j = j0; j < j1; j += 4) {
    const rec = hasNext ? dot4p(4 * H, daNext, packedT + <usize>(j >> 2) * block) : f32x4.splat(0);
    const cnt = min(4, j1 - j), o4 = <usize>j << 2;
    const mask = laneMask(cnt);
    const dh = f32x4.add(v128.load(dhOut + o4), rec);
    const vh = v128.and(dh, mask);
    sqH += hsum64(f32x4.mul(vh, vh));
    const dct = lstmCellBackward4(dh, v128.load(dcIn + o4), act + o4, actGate, v128.load(cPrev + o4), v128.load(tc + o4),
      da + o4, gate, dcOut + o4, cnt);
    const vc = v128.and(dct, mask);
    sqC += hsum64(f32x4.mul(vc, vc));
  }
  store<f64>(sq, sqH);
  store<f64>(sq, sqC, 8);
}
