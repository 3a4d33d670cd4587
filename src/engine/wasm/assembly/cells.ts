import { hsum64, laneMask, sigmoid4, storeN, tanh4 } from './simd';

/**
 * The elementwise part of one timestep of each cell over B rows: the same equations as src/engine/cells.ts,
 * which is the reference (and names every quantity), on 4 units of a row at a time in float32. Pointers are
 * byte addresses; a row of a (B, G·H) block is G gate blocks of H floats, in PyTorch's gate order.
 * The last vector of a row may read up to 3 floats past it and writes only the row's own lanes, so rows of
 * any H work and in-place updates (c, h of the batch-1 stepper) read each unit before writing it.
 */

/**
 * The LSTM cell on 4 units from their pre-activations a_i, a_f, a_g, a_o: act ← i, f, g, o (gate blocks actGate
 * bytes apart); c ← f⊙c_prev + i⊙g; tc ← tanh(c); h ← o⊙tc. Only the first cnt lanes are stored. Shared by
 * lstmForward and the trace's fused half-steps (steps.ts), so both round exactly alike.
 */
// @ts-ignore: decorator
@inline export function lstmCell4(ai: v128, af: v128, ag: v128, ao: v128, cPrev: v128,
  act: usize, actGate: usize, c: usize, tc: usize, h: usize, cnt: i32): void {
  const i = sigmoid4(ai), f = sigmoid4(af), g = tanh4(ag), o = sigmoid4(ao);
  const ct = f32x4.add(f32x4.mul(f, cPrev), f32x4.mul(i, g));
  const t = tanh4(ct);
  storeN(act, i, cnt); storeN(act + actGate, f, cnt); storeN(act + 2 * actGate, g, cnt); storeN(act + 3 * actGate, o, cnt);
  storeN(c, ct, cnt);
  storeN(tc, t, cnt);
  storeN(h, f32x4.mul(o, t), cnt);
}

/** act (B,4H) ← i,f,g,o;  c (B,H) ← f⊙c_prev + i⊙g;  tc (B,H) ← tanh(c);  h (B,H) ← o⊙tc. */
export function lstmForward(B: i32, H: i32, xp: usize, hp: usize, cPrev: usize, act: usize, c: usize, tc: usize, h: usize): void {
  const gate = <usize>H << 2, rowG = gate << 2;
  for (let b = 0; b < B; b++) {
    const x = xp + <usize>b * rowG, r = hp + <usize>b * rowG, a = act + <usize>b * rowG, s = <usize>b * gate;
    for (let j = 0; j < H; j += 4) {
      const o4 = <usize>j << 2;
      lstmCell4(
        f32x4.add(v128.load(x + o4), v128.load(r + o4)),
        f32x4.add(v128.load(x + gate + o4), v128.load(r + gate + o4)),
        f32x4.add(v128.load(x + 2 * gate + o4), v128.load(r + 2 * gate + o4)),
        f32x4.add(v128.load(x + 3 * gate + o4), v128.load(r + 3 * gate + o4)),
        v128.load(cPrev + s + o4), a + o4, gate, c + s + o4, tc + s + o4, h + s + o4, min(4, H - j));
    }
  }
}

/**
 * The backward of lstmCell4 on 4 units: dh = total ∂L/∂h_t, dcIn = ∂L/∂c_t through c_{t+1}, i…o the gates (gate
 * blocks of act actGate bytes apart), cPrev = c_{t-1}, t = tanh(c_t). da ← ∂L/∂a_t (gate blocks daGate bytes
 * apart); dcOut ← ∂L/∂c_{t-1} through this step. Returns the total ∂L/∂c_t (all lanes; the caller masks it for
 * the norm). Shared by lstmBackward and the fused half-steps.
 */
// @ts-ignore: decorator
@inline export function lstmCellBackward4(dh: v128, dcIn: v128, act: usize, actGate: usize, cPrev: v128, t: v128,
  da: usize, daGate: usize, dcOut: usize, cnt: i32): v128 {
  const one = f32x4.splat(1);
  const i = v128.load(act), f = v128.load(act + actGate), g = v128.load(act + 2 * actGate), o = v128.load(act + 3 * actGate);
  // backprop through h = o⊙tanh(c), plus the carried path
  const dct = f32x4.add(dcIn, f32x4.mul(f32x4.mul(dh, o), f32x4.sub(one, f32x4.mul(t, t))));
  storeN(da, f32x4.mul(f32x4.mul(f32x4.mul(dct, g), i), f32x4.sub(one, i)), cnt);                          // di, through σ
  storeN(da + daGate, f32x4.mul(f32x4.mul(f32x4.mul(dct, cPrev), f), f32x4.sub(one, f)), cnt);            // df, through σ
  storeN(da + 2 * daGate, f32x4.mul(f32x4.mul(dct, i), f32x4.sub(one, f32x4.mul(g, g))), cnt);            // dg, through tanh
  storeN(da + 3 * daGate, f32x4.mul(f32x4.mul(f32x4.mul(dh, t), o), f32x4.sub(one, o)), cnt);             // do, through σ
  storeN(dcOut, f32x4.mul(dct, f), cnt);                                                                 // to c_{t-1}
  return dct;
}

/**
 * Backward of one LSTM timestep. dh (B,H) total ∂L/∂h_t; dc (B,H) ∂L/∂c_t through c_{t+1}, replaced by ∂L/∂c_{t-1}
 * through this step; da (B,4H) ← ∂L/∂a_t. Returns Σ dc_t² in float64, as the reference accumulates it.
 */
export function lstmBackward(B: i32, H: i32, act: usize, cPrev: usize, tc: usize, dh: usize, dc: usize, da: usize): f64 {
  const gate = <usize>H << 2, rowG = gate << 2;
  let sq: f64 = 0;
  for (let b = 0; b < B; b++) {
    const a = act + <usize>b * rowG, d = da + <usize>b * rowG, s = <usize>b * gate;
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j), o4 = <usize>j << 2;
      const dct = lstmCellBackward4(v128.load(dh + s + o4), v128.load(dc + s + o4), a + o4, gate,
        v128.load(cPrev + s + o4), v128.load(tc + s + o4), d + o4, gate, dc + s + o4, n);
      const valid = v128.and(dct, laneMask(n));
      sq += hsum64(f32x4.mul(valid, valid));
    }
  }
  return sq;
}

/** act (B,3H) ← r,z,n;  hpn (B,H) ← hp_n;  h (B,H) ← (1 − z)⊙n + z⊙h_prev. */
export function gruForward(B: i32, H: i32, xp: usize, hp: usize, hPrev: usize, act: usize, hpn: usize, h: usize): void {
  const gate = <usize>H << 2, rowG = <usize>3 * gate;
  const one = f32x4.splat(1);
  for (let b = 0; b < B; b++) {
    const x = xp + <usize>b * rowG, q = hp + <usize>b * rowG, a = act + <usize>b * rowG, s = <usize>b * gate;
    for (let j = 0; j < H; j += 4) {
      const cnt = min(4, H - j), o4 = <usize>j << 2;
      const r = sigmoid4(f32x4.add(v128.load(x + o4), v128.load(q + o4)));
      const z = sigmoid4(f32x4.add(v128.load(x + gate + o4), v128.load(q + gate + o4)));
      const hn = v128.load(q + 2 * gate + o4);
      const n = tanh4(f32x4.add(v128.load(x + 2 * gate + o4), f32x4.mul(r, hn)));
      const hNew = f32x4.add(f32x4.mul(f32x4.sub(one, z), n), f32x4.mul(z, v128.load(hPrev + s + o4)));
      storeN(a + o4, r, cnt); storeN(a + gate + o4, z, cnt); storeN(a + 2 * gate + o4, n, cnt);
      storeN(hpn + s + o4, hn, cnt);
      storeN(h + s + o4, hNew, cnt);
    }
  }
}

/** Backward of one GRU timestep: dxp, dhp (B,3H); dhDirect (B,H) ← z⊙dh. */
export function gruBackward(B: i32, H: i32, act: usize, hpn: usize, hPrev: usize, dh: usize, dxp: usize, dhp: usize, dhDirect: usize): void {
  const gate = <usize>H << 2, rowG = <usize>3 * gate;
  const one = f32x4.splat(1);
  for (let b = 0; b < B; b++) {
    const a = act + <usize>b * rowG, dx = dxp + <usize>b * rowG, dr = dhp + <usize>b * rowG, s = <usize>b * gate;
    for (let j = 0; j < H; j += 4) {
      const cnt = min(4, H - j), o4 = <usize>j << 2;
      const r = v128.load(a + o4), z = v128.load(a + gate + o4), n = v128.load(a + 2 * gate + o4);
      const dhj = v128.load(dh + s + o4);
      const dan = f32x4.mul(f32x4.mul(dhj, f32x4.sub(one, z)), f32x4.sub(one, f32x4.mul(n, n)));              // through (1−z)n, then tanh
      const dar = f32x4.mul(f32x4.mul(f32x4.mul(dan, v128.load(hpn + s + o4)), r), f32x4.sub(one, r));       // through r⊙hp_n, then σ
      const daz = f32x4.mul(f32x4.mul(f32x4.mul(dhj, f32x4.sub(v128.load(hPrev + s + o4), n)), z), f32x4.sub(one, z)); // through z, then σ
      storeN(dx + o4, dar, cnt); storeN(dx + gate + o4, daz, cnt); storeN(dx + 2 * gate + o4, dan, cnt);
      storeN(dr + o4, dar, cnt); storeN(dr + gate + o4, daz, cnt); storeN(dr + 2 * gate + o4, f32x4.mul(dan, r), cnt);
      storeN(dhDirect + s + o4, f32x4.mul(dhj, z), cnt);
    }
  }
}

/** h (n) ← tanh(xp + hp) over n = B·H contiguous units. */
export function rnnForward(n: i32, xp: usize, hp: usize, h: usize): void {
  for (let k = 0; k < n; k += 4) {
    const o4 = <usize>k << 2;
    storeN(h + o4, tanh4(f32x4.add(v128.load(xp + o4), v128.load(hp + o4))), min(4, n - k));
  }
}

/** da (n) ← dh⊙(1 − h²), backprop through tanh. */
export function rnnBackward(n: i32, h: usize, dh: usize, da: usize): void {
  const one = f32x4.splat(1);
  for (let k = 0; k < n; k += 4) {
    const o4 = <usize>k << 2;
    const y = v128.load(h + o4);
    storeN(da + o4, f32x4.mul(v128.load(dh + o4), f32x4.sub(one, f32x4.mul(y, y))), min(4, n - k));
  }
}
