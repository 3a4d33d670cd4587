/**
 * How much a trace may hold, in a module of its own so that the extension host can size its inputs without loading
 * the engine.
 */

/** Longest text traced in one piece; memory grows ~(4G + 6)·H·L·4 bytes per character. */
export const MAX_TRACE_CHARS = 200_000;

/**
 * Most next-character probabilities a trace holds (T × V floats, 256 MB): with the largest vocabulary a model may
 * have (65,536) that is 1,024 characters; with a source-code vocabulary of ~100, 670,000 (more than MAX_TRACE_CHARS).
 */
export const MAX_TRACE_PROBS = 2 ** 26;

/** The longest text a model with a vocabulary of V characters can be traced on (MAX_TRACE_PROBS, MAX_TRACE_CHARS). */
export function maxTraceLength(V: number): number {
  return Math.max(1, Math.min(MAX_TRACE_CHARS, Math.floor(MAX_TRACE_PROBS / V)));
}
