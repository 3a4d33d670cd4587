import type { TraceData } from '../protocol/trace';
import { jsonNumbersPerChar } from '../protocol/traceJson';

/**
 * What the inspector's exports say about their size before writing: a byte count a person reads, and the question
 * asked before a large trace is written as JSON. No vscode (unit-tested in Node).
 */

/** An export larger than this (bytes) is confirmed first, with its size; 50 MB. */
export const LARGE_EXPORT_BYTES = 50e6;

/** 12 bytes, 8.4 kB, 109 MB, 1.2 GB: whole numbers from 10 up, one decimal below; never "0.0 MB" for something. */
export function formatBytes(n: number): string {
  if (!(n >= 1000)) return `${Math.max(0, Math.round(n))} byte${Math.round(n) === 1 ? '' : 's'}`;
  const [value, unit] = n < 1e6 ? [n / 1e3, 'kB'] : n < 1e9 ? [n / 1e6, 'MB'] : [n / 1e9, 'GB'];
  return `${value >= 9.95 ? Math.round(value) : value.toFixed(1).replace(/\.0$/, '')} ${unit}`;
}

/** The question before writing a large trace as JSON: its size, and what makes it that large. */
export function largeJsonQuestion(trace: Pick<TraceData, 'tokens' | 'vocab' | 'hidden' | 'layers' | 'cell'>, bytes: number): { message: string; detail: string } {
  const T = trace.tokens.length, V = trace.vocab.length, L = trace.layers.length, H = trace.hidden;
  const gates = Object.keys(trace.layers[0]?.gates ?? {}).length;
  const hasC = !!trace.layers[0]?.c;
  const states = hasC ? 'c and h' : 'h';
  const perChar = jsonNumbersPerChar(V, L, H, gates, hasC);
  return {
    message: `The trace as JSON is about ${formatBytes(bytes)}. Export it?`,
    detail: `${T.toLocaleString('en-US')} characters × ${perChar.toLocaleString('en-US')} numbers each: the next-character distribution over ` +
      `${V.toLocaleString('en-US')} characters, ${gates ? `the ${gates} gates, ` : ''}${states} of ${L} layer${L === 1 ? '' : 's'} × ${H} units, and the gradient norms, ` +
      'each written with 9 significant digits. It is built in the engine, not in the window; to export less, select a part of the text and run Inspect Model on Selection.',
  };
}
