import type { FloatArray, TracePredictions } from './types';

export type { TracePredictions };

/**
 * What a trace keeps of the next-character distribution at each position: the views show the most likely
 * characters, the probability of the one that came and how spread the distribution is — never all V numbers.
 * Keeping (T, V) made a 65,536-token vocabulary cost 2.6 GB for 10,000 characters; (T, k) costs 0.8 MB.
 * The whole distribution at one position is computed again on demand (TraceRun.distribution).
 */
export const DEFAULT_TOP_K = 10;

/** Empty predictions for T positions keeping the top k (k ≤ V). */
export function makePredictions(T: number, k: number): TracePredictions {
  return {
    k,
    topIds: new Int32Array(T * k),
    topProbs: new Float32Array(T * k),
    pNext: new Float32Array(T).fill(NaN),
    entropy: new Float32Array(T),
  };
}

/**
 * Summarises `rows` distributions (row r of `probs` at (r·V)) into positions from..from+rows of `out`: the top k
 * (most likely first; ties by lower id), p of the next token (`next[r]`, −1 where there is none: NaN) and the
 * entropy −Σ p·ln p in nats, summed in float64 over the p > 0.
 */
export function summarise(probs: FloatArray, rows: number, V: number, next: ArrayLike<number>, out: TracePredictions, from: number): void {
  const k = out.k;
  const ids = new Int32Array(k);
  const ps = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    let n = 0; // entries of ids/ps in use, sorted by p descending
    let entropy = 0;
    for (let v = 0; v < V; v++) {
      const p = probs[o + v]!;
      if (p > 0) entropy -= p * Math.log(p);
      if (n === k && p <= ps[k - 1]!) continue;
      // insertion into the sorted top k: equal p stay in id order (the earlier id first)
      let pos = n < k ? n++ : k - 1;
      while (pos > 0 && ps[pos - 1]! < p) {
        ps[pos] = ps[pos - 1]!;
        ids[pos] = ids[pos - 1]!;
        pos--;
      }
      ps[pos] = p;
      ids[pos] = v;
    }
    const t = from + r;
    out.topIds.set(ids.subarray(0, k), t * k);
    for (let i = 0; i < k; i++) out.topProbs[t * k + i] = ps[i]!;
    const target = next[r]!;
    out.pNext[t] = target >= 0 ? probs[o + target]! : NaN;
    out.entropy[t] = entropy;
  }
}

/** Positions [a, b) of predictions, as a new object with its own arrays. */
export function slicePredictions(p: TracePredictions, a: number, b: number): TracePredictions {
  return {
    k: p.k,
    topIds: p.topIds.slice(a * p.k, b * p.k),
    topProbs: p.topProbs.slice(a * p.k, b * p.k),
    pNext: p.pNext.slice(a, b),
    entropy: p.entropy.slice(a, b),
  };
}

/** Copies positions of `src` (all of them) into `dst` from position `at`. */
export function copyPredictions(src: TracePredictions, dst: TracePredictions, at: number): void {
  if (src.k !== dst.k) throw new Error('copyPredictions: different k');
  dst.topIds.set(src.topIds, at * dst.k);
  dst.topProbs.set(src.topProbs, at * dst.k);
  dst.pNext.set(src.pNext, at);
  dst.entropy.set(src.entropy, at);
}
