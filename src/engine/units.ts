import { GatescopeError } from './errors';
import { computeFeature, featureName, isBinary, type FeatureSpec } from './features';
import type { FloatArray } from './types';
import type { UnitCorrelation, UnitQuantity } from './types';
export type { UnitCorrelation, UnitQuantity };

/**
 * Which units track a per-character feature: Pearson's r between a unit's value and the feature over the traced
 * text, for every layer, unit and quantity — the raw cell state c (a counter is linear in it), tanh(c) (what the
 * output gate reads; saturates a counter), h and the gates. Ranked by |r|.
 *
 * The units' means and spreads are computed once per trace (UnitStats); a new feature then costs one pass of
 * multiply-adds over the values (T·H per quantity and layer), so a regex can be searched as it is typed.
 *
 * Dimension legend: T characters, H hidden units, L layers.
 */

/** A trace's layers, as the engine, the worker and the host hold them. */
export interface UnitRecord {
  readonly layers: readonly {
    readonly gates: Readonly<Record<string, FloatArray>>; // each (T, H)
    readonly c: FloatArray | null;                        // (T, H)
    readonly h: FloatArray;                               // (T, H)
  }[];
}


export interface RankOptions {
  /** Quantities to search (default: all the cell has). */
  readonly quantities?: readonly UnitQuantity[];
  /** One layer only (0-based). */
  readonly layer?: number;
  /** How many to return, best first (default 10; 0 = all). */
  readonly top?: number;
  /** Report the mean inside and outside (a 0/1 feature). */
  readonly binary?: boolean;
}

export interface Ranking {
  readonly units: readonly UnitCorrelation[];
  /** Units compared (layers × quantities × H), and of those, how many never change (r undefined, left out). */
  readonly searched: number;
  readonly constant: number;
}

/** The quantities a trace of this kind of layer has, in display order. */
export function unitQuantities(hasC: boolean, gates: readonly string[]): UnitQuantity[] {
  return [...(hasC ? ['c', 'tanh(c)'] as const : []), 'h', ...(gates as UnitQuantity[])];
}

interface Column {
  readonly layer: number;
  readonly quantity: UnitQuantity;
  readonly values: FloatArray;   // (T, H)
  readonly sum: Float64Array;    // (H) Σ_t v
  readonly spread: Float64Array; // (H) sqrt(Σ_t (v − mean)²)
}

export class UnitStats {
  readonly T: number;
  readonly H: number;
  private readonly columns: Column[] = [];

  constructor(rec: UnitRecord, T: number, H: number) {
    this.T = T;
    this.H = H;
    rec.layers.forEach((l, layer) => {
      for (const quantity of unitQuantities(l.c !== null, Object.keys(l.gates))) {
        let values: FloatArray;
        if (quantity === 'c') values = l.c!;
        else if (quantity === 'tanh(c)') values = l.c!.map(Math.tanh);
        else if (quantity === 'h') values = l.h;
        else values = l.gates[quantity]!;
        this.columns.push({ layer, quantity, values, ...moments(values, T, H) });
      }
    });
  }

  /** (T) the values of one unit: its layer, index and quantity (tanh(c) squashed). */
  series(layer: number, unit: number, quantity: UnitQuantity): Float32Array {
    const col = this.columns.find((c) => c.layer === layer && c.quantity === quantity);
    if (!col || unit < 0 || unit >= this.H) throw new Error(`series: no ${quantity} of unit ${unit} in layer ${layer}`);
    const out = new Float32Array(this.T);
    for (let t = 0; t < this.T; t++) out[t] = col.values[t * this.H + unit]!;
    return out;
  }

  /** Units ranked by |r| against the feature x (T). A feature that never changes is an error that says so. */
  rank(x: Float64Array, options: RankOptions = {}): Ranking {
    const { T, H } = this;
    if (x.length !== T) throw new Error(`rank: the feature has ${x.length} values for ${T} characters`);
    let xs = 0;
    for (let t = 0; t < T; t++) xs += x[t]!;
    const xMean = xs / T;
    let xSpread = 0;
    for (let t = 0; t < T; t++) xSpread += (x[t]! - xMean) ** 2;
    xSpread = Math.sqrt(xSpread);
    if (!(xSpread > 1e-12 * Math.max(1, Math.abs(xMean)) * Math.sqrt(T))) {
      throw new GatescopeError(options.binary
        ? `the feature is ${xMean > 0.5 ? 1 : 0} at every character (it ${xMean > 0.5 ? 'covers the whole text' : 'matches nothing'}): r is undefined — change the pattern or the text`
        : `the feature is ${x[0]} at every character of the text: r is undefined — choose another feature or a longer text`);
    }
    const quantities = options.quantities ? new Set(options.quantities) : null;
    const found: UnitCorrelation[] = [];
    let searched = 0, constant = 0;
    const cov = new Float64Array(H);
    for (const col of this.columns) {
      if (quantities && !quantities.has(col.quantity)) continue;
      if (options.layer !== undefined && col.layer !== options.layer) continue;
      // Σ_t (v − mean_v)(x − mean_x) = Σ_t v·x − mean_x·Σ_t v: a pass over the rows where x ≠ 0 only (for a
      // 0/1 feature, its matches), float64 sums of float32 values
      cov.fill(0);
      const v = col.values;
      for (let t = 0; t < T; t++) {
        const w = x[t]!;
        if (w === 0) continue;
        const o = t * H;
        for (let j = 0; j < H; j++) cov[j] += v[o + j]! * w;
      }
      for (let j = 0; j < H; j++) cov[j] -= xMean * col.sum[j]!;
      for (let j = 0; j < H; j++) {
        searched++;
        if (!(col.spread[j]! > 1e-9 * Math.sqrt(T))) { constant++; continue; }
        const r = Math.max(-1, Math.min(1, cov[j]! / (col.spread[j]! * xSpread)));
        if (!options.binary) {
          found.push({ layer: col.layer, unit: j, quantity: col.quantity, r });
          continue;
        }
        // Σ v·x over the n positions where x = 1
        const inside = cov[j]! + xMean * col.sum[j]!, n = xs;
        found.push({ layer: col.layer, unit: j, quantity: col.quantity, r, meanIn: inside / n, meanOut: (col.sum[j]! - inside) / (T - n) });
      }
    }
    found.sort((a, b) => Math.abs(b.r) - Math.abs(a.r) || a.layer - b.layer || a.unit - b.unit);
    const top = options.top ?? 10;
    return { units: top > 0 ? found.slice(0, top) : found, searched, constant };
  }
}

/** Per unit: Σ v and sqrt(Σ (v − mean)²), two passes in float64. */
function moments(v: FloatArray, T: number, H: number): { sum: Float64Array; spread: Float64Array } {
  const sum = new Float64Array(H), mean = new Float64Array(H), spread = new Float64Array(H);
  for (let t = 0; t < T; t++) for (let j = 0, o = t * H; j < H; j++) sum[j] += v[o + j]!;
  for (let j = 0; j < H; j++) mean[j] = sum[j]! / T;
  for (let t = 0; t < T; t++) {
    for (let j = 0, o = t * H; j < H; j++) {
      const d = v[o + j]! - mean[j]!;
      spread[j] += d * d;
    }
  }
  for (let j = 0; j < H; j++) spread[j] = Math.sqrt(spread[j]!);
  return { sum, spread };
}

/** A feature search's outcome: the feature, and its ranking or why there is none. */
export interface FeatureSearch {
  /** featureName: `column`, `depth (python)`, `regex /…/`. */
  readonly feature: string;
  readonly binary: boolean;
  /** (T) the feature; null when it cannot be computed (an invalid regex). */
  readonly x: Float64Array | null;
  /** A 0/1 feature: the positions where it is 1. */
  readonly matches: number | null;
  readonly ranking: Ranking | null;
  /** The user's error as a sentence (an invalid regex, a feature that never changes); null with a ranking. */
  readonly message: string | null;
}

/**
 * Computes a feature of `chars` and ranks the units of `stats` against it, as the inspector asks on every keystroke:
 * the user's mistakes (GatescopeError: an invalid regex, ranges outside the text, a constant feature) come back as
 * the message, with the feature's values when they exist (a regex matching nothing is still shown matching nothing).
 */
export function searchFeature(stats: UnitStats, chars: readonly string[], spec: FeatureSpec, options: Omit<RankOptions, 'binary'> = {}): FeatureSearch {
  const feature = featureName(spec);
  const binary = isBinary(spec);
  let x: Float64Array | null = null;
  let matches: number | null = null;
  try {
    x = computeFeature(chars, spec);
    if (binary) {
      matches = 0;
      for (let t = 0; t < x.length; t++) matches += x[t]!;
    }
    return { feature, binary, x, matches, ranking: stats.rank(x, { ...options, binary }), message: null };
  } catch (e) {
    if (!(e instanceof GatescopeError)) throw e;
    return { feature, binary, x, matches, ranking: null, message: e.message.charAt(0).toUpperCase() + e.message.slice(1) };
  }
}
