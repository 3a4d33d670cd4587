import { gateCount, type ModelConfig } from './types';

/**
 * How much a trace may hold and what a training run costs, in a module of its own so that the extension host can
 * size its inputs and warn without loading the engine.
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

/** Matrix-product speed the engine reaches on one core of a recent machine (README, Performance: 35–55 GFLOP/s). */
const ASSUMED_FLOPS = 30e9;

/**
 * What a training run of this size costs, before anything is allocated: parameters, memory for them, their gradients
 * and Adam's two moments (float32), and the floating-point operations of one step (forward and backward ≈ 6 per
 * parameter per character). `warning` says so when a step takes over half a minute or the model over 4 GB.
 */
export function estimateRun(c: { vocabSize: number; embed: number; hidden: number; layers: number; cell: ModelConfig['cell'] }, seq: number, batch: number):
  { parameters: number; bytes: number; flopsPerStep: number; secondsPerStep: number; warning: string | null } {
  const G = gateCount(c.cell), H = c.hidden;
  let parameters = c.vocabSize * c.embed + c.vocabSize * H + c.vocabSize;
  for (let l = 0; l < c.layers; l++) parameters += G * H * ((l === 0 ? c.embed : H) + H) + 2 * G * H;
  const bytes = parameters * 4 * 4;
  const flopsPerStep = 6 * parameters * seq * batch;
  const secondsPerStep = flopsPerStep / ASSUMED_FLOPS;
  const slow = secondsPerStep > 30, big = bytes > 4 * 2 ** 30;
  const warning = slow || big
    ? `this model has ${parameters.toLocaleString('en-US')} parameters: ${slow ? `a training step is about ${flopsPerStep.toExponential(1)} operations, ` +
      `roughly ${secondsPerStep >= 120 ? `${Math.round(secondsPerStep / 60)} minutes` : `${Math.round(secondsPerStep)} s`} a step on one core` : ''}` +
      `${slow && big ? ', and ' : ''}${big ? `it needs about ${(bytes / 2 ** 30).toFixed(1)} GB with its gradients and optimiser state` : ''}; ` +
      'a smaller hidden size, embedding, batch or sequence length trains faster'
    : null;
  return { parameters, bytes, flopsPerStep, secondsPerStep, warning };
}
