import type { TraceData } from '../protocol/trace';
import { jsonNumbersPerChar } from '../protocol/traceJson';
import { formatBytes } from '../protocol/names';

/**
 * What the inspector's exports say about their size before writing: a byte count a person reads, and the question
 * asked before a large trace is written as JSON. No vscode (unit-tested in Node).
 */

/** An export larger than this (bytes) is confirmed first, with its size; 50 MB. */
export const LARGE_EXPORT_BYTES = 50e6;

export { formatBytes };

/** The question before writing a large trace as JSON: its size, and what makes it that large. */
export function largeJsonQuestion(trace: Pick<TraceData, 'tokens' | 'vocab' | 'hidden' | 'layers' | 'cell'>, bytes: number): { message: string; detail: string } {
  const T = trace.tokens.length, V = trace.vocab.length, L = trace.layers.length, H = trace.hidden;
  const gates = Object.keys(trace.layers[0]?.gates ?? {}).length;
  const hasC = !!trace.layers[0]?.c;
  const states = hasC ? 'c and h' : 'h';
  const perChar = jsonNumbersPerChar(V, L, H, gates, hasC);
  return {
    message: `The trace as JSON is about ${formatBytes(bytes)}. Export it?`,
    detail: `${T.toLocaleString('en-US')} characters × ${perChar.toLocaleString('en-US')} numbers each: the ${Math.min(10, V)} most likely next characters, ` +
      `${gates ? `the ${gates} gates, ` : ''}${states} of ${L} layer${L === 1 ? '' : 's'} × ${H} units, and the gradient norms, ` +
      'each written with 6 significant digits. It is built in the engine, not in the window; to export less, select a part of the text and run Inspect Model on Selection.',
  };
}
