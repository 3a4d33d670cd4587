import * as path from 'node:path';
import { mkdirSync } from 'node:fs';
import { traceTokens, type Trace } from '../engine/trace';
import type { Vocabulary } from '../engine/vocab';
import { readModelFile, readTextFile, writeFileAtomic } from './files';

export interface TraceCliOptions { model: string; input: string; json: string; paramGrads?: boolean }

export function runTrace(o: TraceCliOptions): void {
  const m = readModelFile(o.model);
  const text = readTextFile(o.input);
  const tokens = m.vocab.encode(text);
  const trace = traceTokens(m.net, tokens, { paramGrads: !!o.paramGrads });
  mkdirSync(path.dirname(path.resolve(o.json)), { recursive: true });
  writeFileAtomic(o.json, new TextEncoder().encode(traceToJson(trace, m.vocab, m.net.cfg.cell, m.net.cfg.hidden)));
  process.stderr.write(`traced ${tokens.length} characters: loss ${trace.loss.toFixed(4)} nats/char; wrote ${o.json}\n`);
}

/**
 * The trace as JSON (the schema the inspector exports too): tokens, loss, probs [T][V], layers with [T][H]
 * arrays per gate and state and [T] gradient norms, and optionally paramGrads {name: flat array}.
 * Numbers are float32 values written with 9 significant digits, enough to read back the same float32.
 */
export function traceToJson(trace: Trace, vocab: Vocabulary, cell: string, H: number): string {
  const f = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(9)) : x);
  const rows = (a: Float32Array, n: number): number[][] => {
    const out: number[][] = [];
    for (let t = 0; t < a.length / n; t++) out.push(Array.from(a.subarray(t * n, t * n + n), f));
    return out;
  };
  const V = vocab.size;
  return JSON.stringify({
    cell,
    vocab: vocab.chars,
    text: vocab.decode(trace.tokens),
    tokens: Array.from(trace.tokens),
    loss: trace.loss,
    probs: rows(trace.probs, V),
    layers: trace.layers.map((l) => {
      const o: Record<string, unknown> = {};
      for (const [name, a] of Object.entries(l.gates)) o[name] = rows(a, H);
      if (l.c) o['c'] = rows(l.c, H);
      o['h'] = rows(l.h, H);
      o['gradH'] = Array.from(l.gradH, f);
      if (l.gradC) o['gradC'] = Array.from(l.gradC, f);
      return o;
    }),
    ...(trace.paramGrads ? { paramGrads: Object.fromEntries([...trace.paramGrads].map(([k, v]) => [k, Array.from(v, f)])) } : {}),
  });
}
