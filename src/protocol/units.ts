import type { BUILTIN_FEATURES, CellType, FeatureSpec, Lang, UnitCorrelation, UnitQuantity } from '../engine/types';

/**
 * The unit search as it crosses webview → host → worker and back: the webview says what it searches (SearchState
 * and the selection), the host turns it into a feature (featureSpecOf, the file's language), the worker ranks the
 * units of the trace it keeps (src/engine/units.ts) and replies UnitsView.
 * Dimension legend: T characters.
 */

export { BUILTIN_FEATURES, LANGS } from '../engine/types';

/** A half-open range [start, end) of timesteps (characters of the traced text, code points). */
export interface StepRange {
  readonly start: number;
  readonly end: number;
}

/**
 * How the unit search asks "which units respond here?": a built-in feature (column, bracket depth…), a regex
 * (1 inside its matches), several ranges of the text (1 inside them), each ranked by Pearson r over the trace
 * (src/engine/units.ts); or LSTMVis's threshold search on the selected range (webview/data/search.ts).
 */
export type SearchMode = 'feature' | 'regex' | 'ranges' | 'threshold';
export const SEARCH_MODES: readonly SearchMode[] = ['feature', 'regex', 'ranges', 'threshold'];

export interface SearchState {
  readonly mode: SearchMode;
  readonly feature: (typeof BUILTIN_FEATURES)[number];
  /** The language whose strings and comments `depth`, `string` and `comment` know; null: from the file's name. */
  readonly lang: Lang | null;
  /** A JavaScript regular expression (flags g, m, u). */
  readonly regex: string;
  /** The ranges added to the search (the current selection counts too, until it is added). */
  readonly ranges: readonly StepRange[];
  /** Which quantities are searched ('all': every one the cell has, tanh(c) included). */
  readonly quantity: UnitQuantity | 'all';
  /** One layer (0-based), or null: every layer. */
  readonly layer: number | null;
}

export const DEFAULT_SEARCH: SearchState = {
  mode: 'feature', feature: 'column', lang: null, regex: '', ranges: [], quantity: 'all', layer: null,
};
export type { Lang, UnitCorrelation, UnitQuantity };

/** A unit of a trace: its layer (0-based), index and quantity. */
export interface UnitRef {
  readonly layer: number;
  readonly unit: number;
  readonly quantity: UnitQuantity;
}

/** What the worker ranks: the feature and the scope of the search, and the unit whose values the scatter wants. */
export interface UnitsQuery {
  readonly feature: FeatureSpec;
  readonly quantity: UnitQuantity | 'all';
  /** One layer, or null: all. */
  readonly layer: number | null;
  /** How many units, best first. */
  readonly top: number;
  /** The scatter's unit (the one the user clicked); the best one when null or not listed. */
  readonly pick: UnitRef | null;
}

/** The ranked units and what the webview draws with them. */
export interface UnitsView {
  /** The feature's name (`column`, `depth (python)`, `regex /…/`, `ranges 3:9,…`). */
  readonly feature: string;
  readonly binary: boolean;
  /** (T) the feature at every character; null when it could not be computed (an invalid regex). */
  readonly x: Float32Array | null;
  /** A 0/1 feature: the characters where it is 1. */
  readonly matches: number | null;
  /** Best first (|r|). */
  readonly units: readonly UnitCorrelation[];
  readonly searched: number;
  /** Units that never change over the text (r undefined for them; left out). */
  readonly constant: number;
  /** Why there are no units: the engine's message (an invalid regex, a feature that never changes). */
  readonly message: string | null;
  /** The scatter's unit and its values (T). */
  readonly scatter: (UnitRef & { readonly values: Float32Array }) | null;
}

/** The quantities a search can rank for a cell: the raw and squashed cell state, h, the gates. */
export function searchQuantities(cell: CellType): readonly UnitQuantity[] {
  switch (cell) {
    case 'lstm': return ['c', 'tanh(c)', 'h', 'i', 'f', 'g', 'o'];
    case 'gru': return ['h', 'r', 'z', 'n'];
    case 'rnn_tanh': case 'rnn_relu': return ['h'];
  }
}

/**
 * The ranges searched: those added and the current selection (until it is added), clipped to the text, sorted and
 * merged where they overlap or touch.
 */
export function searchRanges(added: readonly StepRange[], selection: StepRange | null, T: number): StepRange[] {
  const all = [...added, ...(selection ? [selection] : [])]
    .map((r) => ({ start: Math.max(0, Math.min(T, r.start)), end: Math.max(0, Math.min(T, r.end)) }))
    .filter((r) => r.end > r.start)
    .sort((a, b) => a.start - b.start || a.end - b.end);
  const out: StepRange[] = [];
  for (const r of all) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push(r);
  }
  return out;
}

/** The feature a search asks for; null when it has nothing to search (threshold mode, an empty regex, no ranges). */
export function featureSpecOf(s: SearchState, lang: Lang, selection: StepRange | null, T: number): FeatureSpec | null {
  switch (s.mode) {
    case 'feature':
      return s.feature === 'depth' || s.feature === 'string' || s.feature === 'comment' ? { kind: s.feature, lang } : { kind: s.feature };
    case 'regex':
      return s.regex ? { kind: 'regex', source: s.regex } : null;
    case 'ranges': {
      const ranges = searchRanges(s.ranges, selection, T);
      return ranges.length ? { kind: 'ranges', ranges: ranges.map((r) => [r.start, r.end] as const) } : null;
    }
    case 'threshold':
      return null;
  }
}

/** The inspector quantity that shows a unit (tanh(c) is shown as c: the same unit, before the squashing). */
export function viewQuantity(q: UnitQuantity): 'c' | 'h' | 'i' | 'f' | 'g' | 'o' | 'r' | 'z' | 'n' {
  return q === 'tanh(c)' ? 'c' : q;
}
