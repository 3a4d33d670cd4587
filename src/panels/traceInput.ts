import { MAX_TRACE_CHARS } from '../engine/limits';
import { clampToCodePoint, countCodePoints } from '../engine/text';
import type { ModelFacts } from '../protocol/webview';
import type { ModelSummary } from '../protocol/worker';
import type { TrainOptions } from '../engine/trainer';
import type { CellType } from '../engine/types';

/**
 * Getting a document's text ready to trace: the range, a length cap, and characters outside the model's
 * vocabulary (each replaced by one in it, so that timestep t is still the t-th character of the range and the
 * editor mapping holds). No vscode: unit-tested in Node.
 */
export interface TraceInput {
  /** The text to trace (after replacements). */
  readonly text: string;
  /** The same characters as in the document (for mapping timesteps to editor offsets). */
  readonly original: string;
  /** UTF-16 offset of the text in the document. */
  readonly offset: number;
  /** Code points of the document before the text, and in the whole document. */
  readonly first: number;
  readonly total: number;
  readonly notices: readonly string[];
}

export function prepareTraceText(doc: string, range: { start: number; end: number } | null, vocab: readonly string[], maxChars: number): TraceInput {
  let start = range ? clampToCodePoint(doc, range.start) : 0;
  let end = range ? clampToCodePoint(doc, range.end) : doc.length;
  if (end < start) [start, end] = [end, start];
  const notices: string[] = [];
  const first = countCodePoints(doc, 0, start);
  const total = first + countCodePoints(doc, start, doc.length);
  let chars = [...doc.slice(start, end)];
  // a trace keeps the top predictions per position, not the distribution: the vocabulary does not shorten it
  const limit = Math.min(maxChars, MAX_TRACE_CHARS);
  if (chars.length > limit) {
    notices.push(`Traced the first ${limit.toLocaleString('en-US')} of ${chars.length.toLocaleString('en-US')} characters (gatescope.inspector.maxCharacters)` +
      '; select a range and run "Inspect Model on Selection" to look elsewhere.');
    chars = chars.slice(0, limit);
  }
  const original = chars.join('');
  const known = new Set(vocab);
  const stand = known.has(' ') ? ' ' : vocab[0]!;
  const replaced = new Map<string, number>();
  const text = chars.map((ch) => {
    if (known.has(ch)) return ch;
    replaced.set(ch, (replaced.get(ch) ?? 0) + 1);
    return stand;
  }).join('');
  if (replaced.size) {
    const list = [...replaced].slice(0, 6).map(([ch, n]) => `${JSON.stringify(ch)}×${n}`).join(', ');
    const count = [...replaced.values()].reduce((a, b) => a + b, 0);
    notices.push(`${count} character${count === 1 ? ' is' : 's are'} not in the model's vocabulary and ${count === 1 ? 'was' : 'were'} traced as ` +
      `${JSON.stringify(stand)}: ${list}${replaced.size > 6 ? ', …' : ''}.`);
  }
  return { text, original, offset: start, first, total, notices };
}

/** The header facts of a model from the worker's description. */
export function modelFacts(name: string, s: ModelSummary): ModelFacts {
  return {
    name, cell: s.config.cell, layers: s.config.layers, hidden: s.config.hidden, embed: s.config.embed, vocabSize: s.config.vocabSize,
    parameters: s.parameters, steps: s.info.steps ?? s.resumableFrom ?? null, trainLoss: s.info.loss ?? null, valLoss: s.info.valLoss ?? null,
    source: s.info.source ?? null,
  };
}

/**
 * The training options of the network the gradient chart compares with (a vanilla RNN unless `cell` says
 * otherwise): the model's own options (from its training state, when it has one, as the worker read it) with another cell; the same
 * size, seed, data and step count.
 */
export function rnnComparisonOptions(summary: ModelSummary, defaults: TrainOptions, cell: CellType = 'rnn_tanh'): TrainOptions {
  const saved: Partial<TrainOptions> = summary.trainOptions ?? {};
  const c = summary.config;
  const steps = summary.info.steps ?? summary.resumableFrom ?? saved.steps ?? defaults.steps;
  return { ...defaults, ...saved, cell, layers: c.layers, hidden: c.hidden, embed: c.embed, steps: Math.max(1, steps) };
}
