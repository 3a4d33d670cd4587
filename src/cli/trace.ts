import { rowHelpers } from '../engine/backend';
import { nodeThreads } from '../engine/parallel/nodeThreads';
import type { Network } from '../engine/network';
import { predictionGradients } from '../engine/reach';
import { traceTokens, type Trace } from '../engine/trace';
import { isPlainRnn } from '../engine/types';
import type { Vocabulary } from '../engine/vocab';
import { checkJsonSize, jsonNumbersPerChar, traceToJson as sharedTraceToJson, type PredictionJson } from '../protocol/traceJson';
import { prepareOutput, readModelFile, readTextFile, outputName, writeOutput } from './files';

export interface TraceCliOptions { model: string; input: string; json: string; paramGrads?: boolean; lossAt?: number }

export function runTrace(o: TraceCliOptions): void {
  prepareOutput(o.json, [o.model, o.input], '--json');
  const m = readModelFile(o.model);
  const text = readTextFile(o.input);
  const tokens = m.vocab.encode(text);
  const c = m.net.cfg;
  // before a long trace: a JSON no string could hold is refused now, not after it
  checkJsonSize(tokens.length, jsonNumbersPerChar(c.vocabSize, c.layers, c.hidden, isPlainRnn(c.cell) ? 0 : m.net.gates, c.cell === 'lstm'), c.vocabSize);
  const full = traceTokens(m.net, tokens, { paramGrads: !!o.paramGrads, lossAt: o.lossAt, rowHelper: rowHelpers(nodeThreads) });
  const trace: Trace & { prediction?: PredictionJson } = o.lossAt === undefined ? full : withPredictionGradients(m.net, full, o.lossAt);
  writeOutput(o.json, new TextEncoder().encode(traceToJson(trace, m.vocab, m.net.cfg.cell, m.net.cfg.hidden)));
  const at = o.lossAt === undefined ? '' : `; gradients of the prediction at ${o.lossAt} (loss ${trace.prediction!.loss.toFixed(4)} nats)`;
  process.stderr.write(`traced ${tokens.length} characters: loss ${trace.loss.toFixed(4)} nats/char${at}; wrote ${outputName(o.json)}\n`);
}

/**
 * A trace of the prediction at `at` with the norms of reach.ts (float64; the engine's float32 backward gives the
 * same to float rounding) and the saliency of every character before it.
 */
export function withPredictionGradients(net: Network, trace: Trace, at: number): Trace & { prediction: PredictionJson } {
  const T = trace.tokens.length;
  const g = predictionGradients(net, trace, at);
  const byTime = (byK: Float64Array): Float32Array => {
    const out = new Float32Array(T);
    for (let k = 0; k <= g.maxK; k++) out[at - k] = byK[k]!;
    return out;
  };
  return {
    ...trace,
    layers: trace.layers.map((l, i) => ({ ...l, gradH: byTime(g.layers[i]!.gradH), gradC: g.layers[i]!.gradC ? byTime(g.layers[i]!.gradC!) : null })),
    prediction: { at, loss: g.loss, saliency: byTime(g.saliency) },
  };
}

/** The trace as JSON, in the schema the inspector exports too (src/protocol/traceJson.ts). */
export function traceToJson(trace: Trace & { prediction?: PredictionJson }, vocab: Vocabulary, cell: string, H: number): string {
  return sharedTraceToJson(trace, vocab.chars, cell, H);
}
