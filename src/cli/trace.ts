import * as path from 'node:path';
import { mkdirSync } from 'node:fs';
import { nodeThreads } from '../engine/parallel/nodeThreads';
import { traceTokens, type Trace } from '../engine/trace';
import type { Vocabulary } from '../engine/vocab';
import { traceToJson as sharedTraceToJson } from '../protocol/traceJson';
import { readModelFile, readTextFile, writeFileAtomic } from './files';

export interface TraceCliOptions { model: string; input: string; json: string; paramGrads?: boolean }

export function runTrace(o: TraceCliOptions): void {
  const m = readModelFile(o.model);
  const text = readTextFile(o.input);
  const tokens = m.vocab.encode(text);
  const trace = traceTokens(m.net, tokens, { paramGrads: !!o.paramGrads, threads: nodeThreads });
  mkdirSync(path.dirname(path.resolve(o.json)), { recursive: true });
  writeFileAtomic(o.json, new TextEncoder().encode(traceToJson(trace, m.vocab, m.net.cfg.cell, m.net.cfg.hidden)));
  process.stderr.write(`traced ${tokens.length} characters: loss ${trace.loss.toFixed(4)} nats/char; wrote ${o.json}\n`);
}

/** The trace as JSON, in the schema the inspector exports too (src/protocol/traceJson.ts). */
export function traceToJson(trace: Trace, vocab: Vocabulary, cell: string, H: number): string {
  return sharedTraceToJson(trace, vocab.chars, cell, H);
}
