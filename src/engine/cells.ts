import type { FloatArray } from './types';

/**
 * The elementwise part of one timestep of each cell, over B rows at once. The matrix products are done by
 * the caller: xp = W_ih·x_t + b_ih and hp = W_hh·h_{t-1} + b_hh, each (B, G·H) with gates in PyTorch's order.
 * Every function takes (array, offset) pairs; rows are contiguous, row b of a (B, n) block at off + b·n.
 *
 * LSTM ("Understanding LSTM Networks"; CS231n):   a = xp + hp, split into i, f, g, o
 *   i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)   c_t = f⊙c_{t-1} + i⊙g   h_t = o⊙tanh(c_t)
 * GRU (PyTorch's formulation; the reset gate scales the biased recurrent term):
 *   r = σ(xp_r + hp_r)  z = σ(xp_z + hp_z)  n = tanh(xp_n + r⊙hp_n)   h_t = (1 − z)⊙n + z⊙h_{t-1}
 * RNN (tanh):  h_t = tanh(xp + hp)
 * RNN (ReLU):  h_t = relu(xp + hp) = max(0, xp + hp)
 */

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** act (B,4H) ← i,f,g,o;  c (B,H);  tc (B,H) ← tanh(c);  h (B,H). */
export function lstmForward(B: number, H: number,
  xp: FloatArray, xpOff: number, hp: FloatArray, hpOff: number,
  cPrev: FloatArray, cPrevOff: number,
  act: FloatArray, actOff: number, c: FloatArray, cOff: number, tc: FloatArray, tcOff: number,
  h: FloatArray, hOff: number): void {
  const G = 4 * H;
  for (let b = 0; b < B; b++) {
    const x = xpOff + b * G, r = hpOff + b * G, a = actOff + b * G;
    const s = b * H;
    for (let j = 0; j < H; j++) {
      const i = sigmoid(xp[x + j]! + hp[r + j]!);
      const f = sigmoid(xp[x + H + j]! + hp[r + H + j]!);
      const g = Math.tanh(xp[x + 2 * H + j]! + hp[r + 2 * H + j]!);
      const o = sigmoid(xp[x + 3 * H + j]! + hp[r + 3 * H + j]!);
      const ct = f * cPrev[cPrevOff + s + j]! + i * g;
      const t = Math.tanh(ct);
      act[a + j] = i; act[a + H + j] = f; act[a + 2 * H + j] = g; act[a + 3 * H + j] = o;
      c[cOff + s + j] = ct;
      tc[tcOff + s + j] = t;
      h[hOff + s + j] = o * t;
    }
  }
}

/**
 * Backward of one LSTM timestep. In: dh (B,H) = total ∂L/∂h_t; dc (B,H) = ∂L/∂c_t through c_{t+1} (f_{t+1}⊙dc_{t+1}).
 * Out: da (B,4H) = ∂L/∂a_t (the same for xp and hp); dc ← ∂L/∂c_{t-1} through this step (f_t⊙dc_t).
 * Returns Σ dc_t² (the total ∂L/∂c_t, before it is carried back) for the per-timestep norm.
 */
export function lstmBackward(B: number, H: number,
  act: FloatArray, actOff: number, cPrev: FloatArray, cPrevOff: number, tc: FloatArray, tcOff: number,
  dh: FloatArray, dc: FloatArray, da: FloatArray, daOff: number): number {
  const G = 4 * H;
  let sq = 0;
  for (let b = 0; b < B; b++) {
    const a = actOff + b * G, d = daOff + b * G, s = b * H;
    for (let j = 0; j < H; j++) {
      const i = act[a + j]!, f = act[a + H + j]!, g = act[a + 2 * H + j]!, o = act[a + 3 * H + j]!;
      const t = tc[tcOff + s + j]!;
      const dhj = dh[s + j]!;
      const dct = dc[s + j]! + dhj * o * (1 - t * t); // backprop through h = o⊙tanh(c), plus the carried path
      sq += dct * dct;
      da[d + j] = dct * g * i * (1 - i);                 // di, through σ
      da[d + H + j] = dct * cPrev[cPrevOff + s + j]! * f * (1 - f); // df, through σ
      da[d + 2 * H + j] = dct * i * (1 - g * g);         // dg, through tanh
      da[d + 3 * H + j] = dhj * t * o * (1 - o);         // do, through σ
      dc[s + j] = dct * f;                               // to c_{t-1}
    }
  }
  return sq;
}

/** act (B,3H) ← r,z,n;  hpn (B,H) ← hp_n (kept for backward);  h (B,H). */
export function gruForward(B: number, H: number,
  xp: FloatArray, xpOff: number, hp: FloatArray, hpOff: number,
  hPrev: FloatArray, hPrevOff: number,
  act: FloatArray, actOff: number, hpn: FloatArray, hpnOff: number, h: FloatArray, hOff: number): void {
  const G = 3 * H;
  for (let b = 0; b < B; b++) {
    const x = xpOff + b * G, r0 = hpOff + b * G, a = actOff + b * G, s = b * H;
    for (let j = 0; j < H; j++) {
      const r = sigmoid(xp[x + j]! + hp[r0 + j]!);
      const z = sigmoid(xp[x + H + j]! + hp[r0 + H + j]!);
      const hn = hp[r0 + 2 * H + j]!;
      const n = Math.tanh(xp[x + 2 * H + j]! + r * hn);
      act[a + j] = r; act[a + H + j] = z; act[a + 2 * H + j] = n;
      hpn[hpnOff + s + j] = hn;
      h[hOff + s + j] = (1 - z) * n + z * hPrev[hPrevOff + s + j]!;
    }
  }
}

/**
 * Backward of one GRU timestep. In: dh (B,H) total ∂L/∂h_t. Out: dxp (B,3H), dhp (B,3H) (they differ in the
 * n block, where r scales hp_n); dhDirect (B,H) ← z⊙dh, the part of ∂L/∂h_{t-1} that skips W_hh.
 */
export function gruBackward(B: number, H: number,
  act: FloatArray, actOff: number, hpn: FloatArray, hpnOff: number, hPrev: FloatArray, hPrevOff: number,
  dh: FloatArray, dxp: FloatArray, dxpOff: number, dhp: FloatArray, dhpOff: number, dhDirect: FloatArray): void {
  const G = 3 * H;
  for (let b = 0; b < B; b++) {
    const a = actOff + b * G, dx = dxpOff + b * G, dr0 = dhpOff + b * G, s = b * H;
    for (let j = 0; j < H; j++) {
      const r = act[a + j]!, z = act[a + H + j]!, n = act[a + 2 * H + j]!;
      const dhj = dh[s + j]!;
      const dan = dhj * (1 - z) * (1 - n * n);                      // through h = (1−z)n + …, then tanh
      const dar = dan * hpn[hpnOff + s + j]! * r * (1 - r);          // through r⊙hp_n, then σ
      const daz = dhj * (hPrev[hPrevOff + s + j]! - n) * z * (1 - z); // through z, then σ
      dxp[dx + j] = dar; dxp[dx + H + j] = daz; dxp[dx + 2 * H + j] = dan;
      dhp[dr0 + j] = dar; dhp[dr0 + H + j] = daz; dhp[dr0 + 2 * H + j] = dan * r;
      dhDirect[s + j] = dhj * z;
    }
  }
}

/** h (B,H) ← tanh(xp + hp). */
export function rnnForward(B: number, H: number,
  xp: FloatArray, xpOff: number, hp: FloatArray, hpOff: number, h: FloatArray, hOff: number): void {
  const n = B * H;
  for (let k = 0; k < n; k++) h[hOff + k] = Math.tanh(xp[xpOff + k]! + hp[hpOff + k]!);
}

/** da (B,H) ← dh⊙(1 − h²), backprop through tanh. */
export function rnnBackward(B: number, H: number, h: FloatArray, hOff: number, dh: FloatArray,
  da: FloatArray, daOff: number): void {
  const n = B * H;
  for (let k = 0; k < n; k++) {
    const y = h[hOff + k]!;
    da[daOff + k] = dh[k]! * (1 - y * y);
  }
}

/**
 * h (B,H) ← relu(xp + hp) = max(0, xp + hp). Math.max keeps a NaN pre-activation NaN, as torch.relu does, so the
 * trainer's guard still sees it.
 */
export function rnnReluForward(B: number, H: number,
  xp: FloatArray, xpOff: number, hp: FloatArray, hpOff: number, h: FloatArray, hOff: number): void {
  const n = B * H;
  for (let k = 0; k < n; k++) h[hOff + k] = Math.max(0, xp[xpOff + k]! + hp[hpOff + k]!);
}

/**
 * da (B,H) ← dh⊙[h > 0], backprop through relu. relu′(a) = 1 where a > 0, else 0; h > 0 exactly where a > 0,
 * so the output alone decides it (no pre-activation is kept). At a = 0 exactly the derivative is taken as 0:
 * PyTorch's convention (relu's backward is threshold_backward(grad, result, 0), which zeroes grad where
 * result ≤ 0; written the same way here, so a NaN h passes its gradient on as there).
 */
export function rnnReluBackward(B: number, H: number, h: FloatArray, hOff: number, dh: FloatArray,
  da: FloatArray, daOff: number): void {
  const n = B * H;
  for (let k = 0; k < n; k++) da[daOff + k] = h[hOff + k]! <= 0 ? 0 : dh[k]!;
}
